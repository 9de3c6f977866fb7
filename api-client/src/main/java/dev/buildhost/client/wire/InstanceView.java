package dev.buildhost.client.wire;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;

/**
 * One instance, as {@code GET /v1/instances/{id}} shows it. Optional fields are null when not yet
 * known.
 *
 * @param id the instance id, e.g. {@code sample-vm-20260101-120000-1a2b}
 * @param machine the machine it is an instance of
 * @param revision the machine revision ("P.R") it runs
 * @param type which backend runs it
 * @param state where it is in its life
 * @param endReason why it stopped; null until it does
 * @param exitCode the guest's exit code where the backend reports one (containers)
 * @param tftpPort the instance's writable TFTP port on 127.0.0.1
 * @param createdAt when the start was accepted
 * @param runningAt when the guest was seen running
 * @param stoppedAt when it stopped; for an UNKNOWN instance, when its guest was found gone (null
 *     while a guest with its id may run)
 * @param message what went wrong, for FAILED_TO_START and CRASHED; for UNKNOWN, which journal
 *     record cannot be read and why
 * @param startedFrom the id of the bootstrapped state it started from; null for the bare revision
 * @param keep whether it was started with {@code keep}: its disk is kept once it stopped, until it
 *     is deleted (left out of the JSON when false; never null)
 * @param kept where its disk is kept once it stopped; null while it runs, and when none is kept
 */
public record InstanceView(
    String id,
    String machine,
    String revision,
    MachineView.Type type,
    State state,
    EndReason endReason,
    Integer exitCode,
    int tftpPort,
    Instant createdAt,
    Instant runningAt,
    Instant stoppedAt,
    String message,
    @JsonInclude(JsonInclude.Include.NON_NULL) String startedFrom,
    @JsonInclude(JsonInclude.Include.NON_DEFAULT) Boolean keep,
    @JsonInclude(JsonInclude.Include.NON_NULL) Kept kept) {

  public InstanceView {
    keep = Boolean.TRUE.equals(keep); // absent from the JSON when false
  }

  /** An instance of the bare revision whose disk is not kept. */
  public InstanceView(
      String id,
      String machine,
      String revision,
      MachineView.Type type,
      State state,
      EndReason endReason,
      Integer exitCode,
      int tftpPort,
      Instant createdAt,
      Instant runningAt,
      Instant stoppedAt,
      String message) {
    this(
        id, machine, revision, type, state, endReason, exitCode, tftpPort, createdAt, runningAt,
        stoppedAt, message, null, false, null);
  }

  /**
   * Where the disk of a stopped instance started with {@code keep} is kept, for {@code buildhost
   * publish}: one of the two is set.
   *
   * @param disk a VM's overlay, a qcow2 file under {@code <root>/instances/<id>/kept/}
   * @param image the id of the image a container was committed to ({@code
   *     buildhost-kept/<machine>:<id>})
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Kept(String disk, String image) {}

  /**
   * STOPPED is final. UNKNOWN: the daemon cannot read the instance's journal record; it keeps the
   * guest, folders and TFTP port until the instance is deleted.
   */
  public enum State {
    STARTING,
    RUNNING,
    STOPPING,
    STOPPED,
    UNKNOWN
  }

  /** Why an instance stopped. */
  public enum EndReason {
    POWEROFF,
    TERMINATED,
    TIMEOUT,
    CRASHED,
    FAILED_TO_START
  }

  /** Whether it has stopped for good. */
  public boolean stopped() {
    return state == State.STOPPED;
  }

  /**
   * Whether a guest of it may run: until it stops, and for an UNKNOWN instance until its guest was
   * found gone.
   */
  public boolean guestMayRun() {
    return state == State.UNKNOWN ? stoppedAt == null : state != State.STOPPED;
  }
}
