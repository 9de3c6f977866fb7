package dev.buildhost.manager.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.buildhost.client.ApiJson;
import dev.buildhost.client.wire.InstanceEventView;
import dev.buildhost.client.wire.InstanceView;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.Instance;
import dev.buildhost.manager.model.InstanceEvent;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.MachineType;
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
