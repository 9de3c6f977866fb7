package dev.buildhost.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.buildhost.client.wire.ApiError;
import dev.buildhost.client.wire.BootstrapBody;
import dev.buildhost.client.wire.FileView;
import dev.buildhost.client.wire.FleetHostView;
import dev.buildhost.client.wire.FleetInstanceView;
import dev.buildhost.client.wire.FleetRebootsView;
import dev.buildhost.client.wire.HostInfo;
import dev.buildhost.client.wire.InstanceEventView;
import dev.buildhost.client.wire.InstanceView;
import dev.buildhost.client.wire.MachineView;
import dev.buildhost.client.wire.ManifestView;
import dev.buildhost.client.wire.PruneView;
import dev.buildhost.client.wire.PublishBody;
import dev.buildhost.client.wire.PublishView;
import dev.buildhost.client.wire.StartBody;
import java.io.IOException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The client reads with jackson-jr what the daemon writes with databind ({@link ApiJson}), and the
 * daemon reads with databind what the client writes: every wire record, each of its fields set
 * (nested records, lists, maps, enums and times included), makes the trip unchanged.
 */
class WireJsonTest {

  /** How the daemon reads a request body: unknown fields are refused there. */
  private static final ObjectMapper DAEMON_READER =
      ApiJson.builder().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();

  @ParameterizedTest
  @ValueSource(
      classes = {
        ApiError.class,
        FileView.class,
        FleetHostView.class,
        FleetInstanceView.class,
        FleetRebootsView.class,
        HostInfo.class,
        InstanceEventView.class,
        InstanceView.class,
        MachineView.class,
        ManifestView.class,
        PruneView.class,
        PublishView.class
      })
  void whatTheDaemonWritesTheClientReadsUnchanged(Class<?> type) throws Exception {
    Object sent = sample(type);
    byte[] json = ApiJson.MAPPER.writeValueAsBytes(sent);
    assertEquals(sent, WireJson.read(json, type), new String(json, StandardCharsets.UTF_8));
    assertEquals(
        List.of(sent),
        WireJson.readList(
            ("[" + new String(json, StandardCharsets.UTF_8) + "]").getBytes(StandardCharsets.UTF_8),
            type));
  }

  @ParameterizedTest
  @ValueSource(classes = {StartBody.class, PublishBody.class, BootstrapBody.class})
  void whatTheClientWritesTheDaemonReadsUnchanged(Class<?> type) throws Exception {
    Object sent = sample(type);
    byte[] json = WireJson.write(sent);
    assertEquals(
        sent, DAEMON_READER.readValue(json, type), new String(json, StandardCharsets.UTF_8));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "{\"id\":\"a\",\"createdAt\":\"yesterday\"}",
        "{\"id\":\"a\",\"state\":\"NO_SUCH_STATE\"}",
        "{\"id\":",
        "[]"
      })
  void anAnswerThatIsNotAnInstanceIsAnError(String json) {
    IOException e =
        assertThrows(
            IOException.class,
            () -> WireJson.read(json.getBytes(StandardCharsets.UTF_8), InstanceView.class));
    assertTrue(e.getMessage() != null && !e.getMessage().isEmpty(), json);
  }

  @org.junit.jupiter.api.Test
  void fieldsTheClientDoesNotKnowAreSkipped() throws Exception {
    InstanceView read =
        WireJson.read(
            "{\"id\":\"a\",\"addedLater\":{\"x\":[1,2]},\"tftpPort\":7}"
                .getBytes(StandardCharsets.UTF_8),
            InstanceView.class);
    assertEquals("a", read.id());
    assertEquals(7, read.tftpPort());
  }

  /** A value of the type with every field set, nested records included. */
  private static Object sample(Type type) throws Exception {
    if (type instanceof ParameterizedType p) {
      Type[] args = p.getActualTypeArguments();
      if (p.getRawType() == List.class) {
        return List.of(sample(args[0]));
      }
      if (p.getRawType() == Map.class) {
        return Map.of("key", sample(args[1]));
      }
      throw new IllegalArgumentException("no sample of " + type);
    }
    Class<?> c = (Class<?>) type;
    if (c == String.class) {
      return "text";
    } else if (c == int.class || c == Integer.class) {
      return 7;
    } else if (c == long.class || c == Long.class) {
      return 9L;
    } else if (c == boolean.class || c == Boolean.class) {
      return true;
    } else if (c == Instant.class) {
      return Instant.parse("2026-03-01T12:00:00.123456789Z");
    } else if (c.isEnum()) {
      Object[] constants = c.getEnumConstants();
      return constants[constants.length - 1];
    } else if (c.isRecord()) {
      RecordComponent[] components = c.getRecordComponents();
      Object[] values = new Object[components.length];
      Class<?>[] types = new Class<?>[components.length];
      for (int i = 0; i < components.length; i++) {
        values[i] = sample(components[i].getGenericType());
        types[i] = components[i].getType();
      }
      return c.getDeclaredConstructor(types).newInstance(values);
    }
    throw new IllegalArgumentException("no sample of " + type);
  }
}
