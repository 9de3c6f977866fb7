package dev.buildhost.manager.model;

import java.time.Instant;

/**
 * A snapshot of one instance, as the API and CLI show it. Optional fields are null when not yet
 * known. The withers below are the only ways the lifecycle makes a new snapshot from an old one, so
 * that every state keeps the fields it must (see {@link Lifecycle}).
 */
public record Instance(
    String id,
    String machine,
    String revision,
    MachineType type,
    InstanceState state,
    EndReason endReason,
    Integer exitCode,
    int tftpPort,
    Instant createdAt,
    Instant runningAt,
    Instant stoppedAt,
    String message) {

  /** A new instance: STARTING, created now, no TFTP port yet. */
  public static Instance starting(
      String id, String machine, String revision, MachineType type, Instant createdAt) {
    return new Instance(
        id,
        machine,
        revision,
        type,
        InstanceState.STARTING,
        null,
        null,
        0,
        createdAt,
        null,
        null,
        null);
  }

  /**
   * An instance whose journal record cannot be read: UNKNOWN, with what could be made out of the
   * record and {@code message} saying what is wrong. {@code guestGoneAt} is null while a guest with
   * its id may run, else when it was found gone.
   */
  public static Instance unknown(
      String id,
      String machine,
      String revision,
      MachineType type,
      int tftpPort,
      Instant createdAt,
      Instant guestGoneAt,
      String message) {
    return new Instance(
        id,
        machine,
        revision,
        type,
        InstanceState.UNKNOWN,
        null,
        null,
        tftpPort,
        createdAt,
        null,
        guestGoneAt,
        message);
  }

  /**
   * The same UNKNOWN instance, its guest gone since {@code at}; {@code message} replaces the old.
   */
  public Instance guestGone(Instant at, String message) {
    return new Instance(
        id, machine, revision, type, state, endReason, exitCode, tftpPort, createdAt, runningAt, at,
        message);
  }

  /** The same instance on its TFTP port. */
  public Instance withTftpPort(int port) {
    return new Instance(
        id, machine, revision, type, state, endReason, exitCode, port, createdAt, runningAt,
        stoppedAt, message);
  }

  /** RUNNING since {@code at}; the message stays. */
  public Instance running(Instant at) {
    return new Instance(
        id,
        machine,
        revision,
        type,
        InstanceState.RUNNING,
        null,
        null,
        tftpPort,
        createdAt,
        at,
        null,
        message);
  }

  /** STOPPING, everything else as it was. */
  public Instance stopping() {
    return new Instance(
        id,
        machine,
        revision,
        type,
        InstanceState.STOPPING,
        endReason,
        exitCode,
        tftpPort,
        createdAt,
        runningAt,
        stoppedAt,
        message);
  }

  /**
   * STOPPED at {@code at} for {@code reason}; {@code message} (null for none) replaces the old one.
   */
  public Instance stopped(EndReason reason, Integer exitCode, Instant at, String message) {
    return new Instance(
        id,
        machine,
        revision,
        type,
        InstanceState.STOPPED,
        reason,
        exitCode,
        tftpPort,
        createdAt,
        runningAt,
        at,
        message);
  }
}
