package dev.buildhost.manager.instance;

import dev.buildhost.common.time.Scheduler;
import dev.buildhost.manager.backend.Guest;
import dev.buildhost.manager.backend.KeepsGuestDisk;
import dev.buildhost.manager.backend.KeptDisk;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.journal.UnreadableRecord;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.Lifecycle;
import dev.buildhost.manager.model.MachineType;
import dev.buildhost.tftp.server.TftpServer;
import java.nio.file.Path;
import java.time.Instant;

/**
 * One instance as the manager tracks it: its state for the lifecycle rules and what the manager
 * holds for it (guest, TFTP server, timers). Fields are guarded by the object's own lock; the state
 * can be read without it.
 */
final class TrackedInstance {
  final Revision revision;
  final Path tftpDir;
  final Path instanceDir;
  final Instant deadline;

  /** The snapshot and the requested end reason; written under the lock, read without it. */
  volatile Lifecycle.State life;

  Guest guest;
  TftpServer server;

  /** The TFTP port of the prepared launch the instance took; 0 when it took none. */
  int preparedPort;

  Scheduler.Task timeoutTask;
  Scheduler.Task graceTask;
  Scheduler.Task watchdogTask;

  /** The bootstrapped state the instance started from, and its end hook (see StartOptions). */
  StartOptions options = StartOptions.NONE;

  /**
   * The id of the bootstrapped state it started from (journaled, so an adopted instance still
   * counts as a user of its state); null for the bare revision.
   */
  String startedFrom;

  /** Whether its disk is kept once it stopped (the start's {@code keep}). */
  boolean keep;

  /** The disk kept once it stopped, until it is deleted; null when none is. */
  KeptDisk kept;

  /** What the guest was launched with; null until it is. */
  LaunchSpec spec;

  /** The backend's way to keep the guest's disk; null when it has none. */
  KeepsGuestDisk keeper;

  /** Set once the instance is deleted: nothing may write its record again. */
  boolean deleted;

  /**
   * True while its guest is being launched, outside the lock: a stop request then only records
   * itself, and the launch carries it out once the guest exists.
   */
  boolean launching;

  /** The end the backend reported while the guest was being launched, applied after the launch. */
  Runnable endReportedWhileLaunching;

  /**
   * For an UNKNOWN instance (its journal record cannot be read): the backend that has a guest with
   * its id, null when none has.
   */
  MachineType unknownGuestType;

  /** For an UNKNOWN instance: its unreadable record; null for every other instance. */
  UnreadableRecord unreadable;

  /**
   * @param revision null for an UNKNOWN instance
   * @param deadline null for an UNKNOWN instance
   */
  TrackedInstance(
      Lifecycle.State life, Revision revision, Path tftpDir, Path instanceDir, Instant deadline) {
    this.life = life;
    this.revision = revision;
    this.tftpDir = tftpDir;
    this.instanceDir = instanceDir;
    this.deadline = deadline;
  }

  Instance snapshot() {
    return life.instance();
  }

  String id() {
    return snapshot().id();
  }

  InstanceState state() {
    return snapshot().state();
  }

  /**
   * Whether it takes a slot of the capacity: until it stops, and an UNKNOWN one while a guest with
   * its id may run.
   */
  boolean takesCapacity() {
    InstanceState state = state();
    return state == InstanceState.UNKNOWN
        ? snapshot().stoppedAt() == null
        : state != InstanceState.STOPPED;
  }
}
