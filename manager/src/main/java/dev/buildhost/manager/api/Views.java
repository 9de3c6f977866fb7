package dev.buildhost.manager.api;

import dev.buildhost.client.wire.FileView;
import dev.buildhost.client.wire.FleetRebootsView;
import dev.buildhost.client.wire.HostInfo;
import dev.buildhost.client.wire.InstanceEventView;
import dev.buildhost.client.wire.InstanceView;
import dev.buildhost.client.wire.MachineView;
import dev.buildhost.client.wire.ManifestView;
import dev.buildhost.fleet.reboot.RebootSlots;
import dev.buildhost.fleet.reboot.SlotHolder;
import dev.buildhost.fleet.reboot.SlotWaiter;
import dev.buildhost.manager.backend.KeptDisk;
import dev.buildhost.manager.bootstrap.BootstrappedState;
import dev.buildhost.manager.bootstrap.Bootstraps;
import dev.buildhost.manager.instance.InstanceDisk;
import dev.buildhost.manager.journal.JournalHealth;
import dev.buildhost.manager.machine.Machine;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.FileEntry;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceEvent;
import dev.buildhost.manager.model.MachineType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The API's edge: the manager's model mapped onto the wire records of the client module. The model
 * may change (fields, packages, names); what a client reads changes only here, on purpose. Enums
 * map by name, so a constant added to the model and not to the wire fails here, in tests.
 */
final class Views {

  private Views() {}

  /** The fleet's reboot slots as etcd holds them; a holder expires after {@code slotTimeout}. */
  static FleetRebootsView reboots(RebootSlots slots, Duration slotTimeout) {
    List<FleetRebootsView.Holder> holders = new ArrayList<>();
    for (SlotHolder h : slots.holders()) {
      holders.add(
          new FleetRebootsView.Holder(
              h.host(),
              h.since(),
              h.rebooting() == null
                  ? FleetRebootsView.Phase.DRAINING
                  : FleetRebootsView.Phase.REBOOTING,
              h.reason(),
              h.bootId(),
              h.drainUntil(),
              h.rebooting(),
              h.expires(slotTimeout)));
    }
    List<FleetRebootsView.Waiter> waiters = new ArrayList<>();
    for (SlotWaiter w : slots.waiters()) {
      waiters.add(new FleetRebootsView.Waiter(w.host(), waiters.size() + 1, w.since(), w.reason()));
    }
    return new FleetRebootsView(slots.slots(), slotTimeout.toSeconds(), holders, waiters);
  }

  static InstanceView instance(Instance i) {
    return instance(i, new InstanceDisk(null, false, null));
  }

  /** The instance, the bootstrapped state it started from and where its disk is kept. */
  static InstanceView instance(Instance i, InstanceDisk disk) {
    return new InstanceView(
        i.id(),
        i.machine(),
        i.revision(),
        type(i.type()),
        i.state() == null ? null : InstanceView.State.valueOf(i.state().name()),
        i.endReason() == null ? null : InstanceView.EndReason.valueOf(i.endReason().name()),
        i.exitCode(),
        i.tftpPort(),
        i.createdAt(),
        i.runningAt(),
        i.stoppedAt(),
        i.message(),
        disk.startedFrom(),
        disk.keep(),
        kept(disk.kept()));
  }

  private static InstanceView.Kept kept(KeptDisk kept) {
    return kept == null
        ? null
        : new InstanceView.Kept(kept.disk() == null ? null : kept.disk().toString(), kept.image());
  }

  static HostInfo.Journal journal(JournalHealth health) {
    return new HostInfo.Journal(
        health.unwrittenRecords(), health.failedWrites(), health.lastError(), health.lastErrorAt());
  }

  static List<InstanceView> instances(List<Instance> instances) {
    return instances.stream().map(Views::instance).toList();
  }

  static InstanceEventView event(InstanceEvent e) {
    return new InstanceEventView(
        InstanceEventView.Kind.valueOf(e.kind().name()),
        e.time(),
        e.instance() == null ? null : instance(e.instance()),
        e.detail());
  }

  static List<FileView> files(List<FileEntry> files) {
    return files.stream().map(f -> new FileView(f.name(), f.size(), f.modified())).toList();
  }

  static MachineView machine(Machine machine, List<Bootstraps.StateInfo> states) {
    MachineView view = machine(machine);
    return new MachineView(
        view.name(),
        view.type(),
        view.inService(),
        view.revisions(),
        view.problems(),
        states.stream()
            .filter(s -> s.state().machine().equals(machine.name()))
            .map(Views::bootstrapped)
            .toList());
  }

  static List<MachineView> machines(List<Machine> machines, List<Bootstraps.StateInfo> states) {
    return machines.stream().map(m -> machine(m, states)).toList();
  }

  static MachineView.BootstrappedView bootstrapped(Bootstraps.StateInfo info) {
    BootstrappedState s = info.state();
    return new MachineView.BootstrappedView(
        s.id(),
        s.version(),
        s.toolchain(),
        s.toolchainId(),
        info.current() ? "current" : "stale",
        s.createdAt(),
        s.instance(),
        s.image(),
        info.inUse());
  }

  static MachineView machine(Machine machine) {
    Revision current = machine.inService();
    List<MachineView.RevisionView> revisions =
        machine.revisions().stream()
            .map(
                r ->
                    new MachineView.RevisionView(
                        r.version(),
                        r.dir().toString(),
                        current != null && current.version().equals(r.version()),
                        manifest(r.manifest())))
            .toList();
    Revision typed =
        current != null
            ? current
            : machine.revisions().isEmpty()
                ? null
                : machine.revisions().get(machine.revisions().size() - 1);
    return new MachineView(
        machine.name(),
        typed == null ? null : type(typed.manifest().type()),
        current == null ? null : current.version(),
        revisions,
        machine.problems());
  }

  static List<MachineView> machines(List<Machine> machines) {
    return machines.stream().map(Views::machine).toList();
  }

  static ManifestView manifest(Manifest m) {
    return new ManifestView(
        m.id(),
        m.name(),
        m.summary(),
        type(m.type()),
        m.role(),
        m.ramMinimumMib(),
        m.ramMaximumMib(),
        m.cpus(),
        m.mac(),
        m.options(),
        m.changes(),
        m.disk(),
        m.kernel(),
        m.initrd(),
        m.cmdline(),
        m.image(),
        m.command(),
        m.outboundNat(),
        m.tftpUploadQuotaBytes(),
        m.tftpMaxFileBytes(),
        m.capabilities(),
        m.pidsLimit());
  }

  private static MachineView.Type type(MachineType type) {
    return type == null ? null : MachineView.Type.valueOf(type.name());
  }
}
