package dev.buildhost.manager.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.buildhost.client.ApiJson;
import dev.buildhost.client.wire.InstanceEventView;
import dev.buildhost.client.wire.InstanceView;
import dev.buildhost.manager.backend.KeptDisk;
import dev.buildhost.manager.instance.InstanceDisk;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceEvent;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.MachineType;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The edge between the manager's model and the wire: every value crosses it, and the JSON keeps its
 * shape.
 */
class ViewsTest {

  private static final Instant T = Instant.parse("2026-01-01T12:00:00Z");

  @Test
  void everyStateEndReasonTypeAndEventKindHasAWireValue() {
    for (InstanceState state : InstanceState.values()) {
      for (EndReason reason : EndReason.values()) {
        for (MachineType type : MachineType.values()) {
          InstanceView view = Views.instance(instance(state, reason, type));
          assertEquals(state.name(), view.state().name());
          assertEquals(reason.name(), view.endReason().name());
          assertEquals(type.name(), view.type().name());
        }
      }
    }
    for (InstanceEvent.Kind kind : InstanceEvent.Kind.values()) {
      InstanceEventView view =
          Views.event(
              new InstanceEvent(
                  kind, T, instance(InstanceState.RUNNING, null, MachineType.KVM), "x"));
      assertEquals(kind.name(), view.kind().name());
    }
  }

  @Test
  void theWireJsonIsWhatTheModelUsedToSerializeTo() throws Exception {
    Instance model = instance(InstanceState.STOPPED, EndReason.CRASHED, MachineType.DOCKER);
    JsonNode before = Json.MAPPER.valueToTree(model);
    JsonNode after = Json.MAPPER.valueToTree(Views.instance(model));
    assertEquals(before, after);
    assertEquals(model.id(), ApiJson.MAPPER.treeToValue(after, InstanceView.class).id());
  }

  @Test
  void aKeptDiskShowsWhereItIsAndAnInstanceWithoutKeepShowsNoKeepFields() throws Exception {
    Instance stopped = instance(InstanceState.STOPPED, EndReason.POWEROFF, MachineType.KVM);
    JsonNode vm =
        Json.MAPPER.valueToTree(
            Views.instance(
                stopped,
                new InstanceDisk(
                    "vm-1.0/stable@3f2a9c1b0d4e",
                    true,
                    new KeptDisk(Path.of("/build/instances/vm-1/kept/disk.qcow2"), null))));
    assertTrue(vm.get("keep").asBoolean());
    assertEquals("/build/instances/vm-1/kept/disk.qcow2", vm.get("kept").get("disk").asText());
    assertFalse(vm.get("kept").has("image"), "a VM keeps no image");
    assertEquals("vm-1.0/stable@3f2a9c1b0d4e", vm.get("startedFrom").asText());

    InstanceView container =
        ApiJson.MAPPER.treeToValue(
            Json.MAPPER.valueToTree(
                Views.instance(
                    stopped, new InstanceDisk(null, true, new KeptDisk(null, "sha256:abc")))),
            InstanceView.class);
    assertEquals(new InstanceView.Kept(null, "sha256:abc"), container.kept());
    assertTrue(container.keep());

    JsonNode running =
        Json.MAPPER.valueToTree(
            Views.instance(
                instance(InstanceState.RUNNING, null, MachineType.KVM),
                new InstanceDisk(null, true, null)));
    assertTrue(running.get("keep").asBoolean());
    assertFalse(running.has("kept"), "nothing is kept while it runs");

    JsonNode plain = Json.MAPPER.valueToTree(Views.instance(stopped));
    assertFalse(plain.has("keep"));
    assertFalse(plain.has("kept"));
  }

  @Test
  void aManifestKeepsEveryFieldOnTheWire() {
    Manifest manifest =
        new Manifest(
            "id-1",
            "vm",
            "a VM",
            MachineType.KVM,
            "build",
            512L,
            2048L,
            2,
            "de:ad:be:ef:00:01",
            List.of("accel"),
            "first",
            "disk.img",
            "vmlinuz",
            "initrd.img",
            "console=ttyS0",
            null,
            null);
    assertEquals(
        Json.MAPPER.valueToTree(manifest), Json.MAPPER.valueToTree(Views.manifest(manifest)));
  }

  private static Instance instance(InstanceState state, EndReason reason, MachineType type) {
    return new Instance(
        "vm-1",
        "vm",
        "1.0",
        type,
        state,
        reason,
        137,
        10001,
        T,
        T.plusSeconds(1),
        reason == null ? null : T.plusSeconds(2),
        reason == null ? null : "gone");
  }
}
