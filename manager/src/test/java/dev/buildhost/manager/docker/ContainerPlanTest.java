package dev.buildhost.manager.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.backend.BackendException;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.machine.Manifest;
import dev.buildhost.manager.machine.Revision;
import dev.buildhost.manager.model.MachineType;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ContainerPlanTest {

  private static LaunchSpec spec(Long ramMin, Long ramMax, Integer cpus, String command) {
    Manifest manifest =
        new Manifest(
            "id",
            "sample-container",
            "s",
            MachineType.DOCKER,
            "build",
            ramMin,
            ramMax,
            cpus,
            null,
            List.of(),
            null,
            null,
            null,
            null,
            null,
            "image.tar",
            command);
    Revision revision =
        new Revision(
            "sample-container",
            "1.2",
            Path.of("/build/machines/sample-container/sample-container-1.2"),
            manifest);
    return new LaunchSpec("i-7", revision, Path.of("/build/instances/i-7"), 10042);
  }

  @Test
  void namesLabelsAndEnvironment() throws BackendException {
    ContainerPlan plan =
        ContainerPlan.of(
            spec(64L, null, 1, "/usr/local/bin/buildhost-worker"),
            "buildhost/sample-container:1.2",
            "/build",
            "host",
            "127.0.0.1:10042",
            2);
    assertEquals("buildhost-i-7", plan.name());
    assertEquals("buildhost/sample-container:1.2", plan.image());
    assertEquals(
        Map.of(
            "dev.buildhost.instance",
            "i-7",
            "dev.buildhost.machine",
            "sample-container",
            "dev.buildhost.revision",
            "1.2",
            "dev.buildhost.root",
            "/build"),
        plan.labels());
    assertTrue(plan.env().contains("BUILDHOST_TFTP=127.0.0.1:10042"), plan.env().toString());
    assertEquals(List.of("/usr/local/bin/buildhost-worker"), plan.command());
    assertEquals("host", plan.networkMode());
  }

  @Test
  void memoryPrefersRamMaximum() throws BackendException {
    assertEquals(
        64L << 20,
        ContainerPlan.of(spec(64L, null, null, null), "img", "/b", "host", "127.0.0.1:10000", 2)
            .memoryBytes());
    assertEquals(
        512L << 20,
        ContainerPlan.of(spec(64L, 512L, null, null), "img", "/b", "host", "127.0.0.1:10000", 2)
            .memoryBytes());
    assertNull(
        ContainerPlan.of(spec(null, null, null, null), "img", "/b", "host", "127.0.0.1:10000", 2)
            .memoryBytes());
  }

  @Test
  void cpusAreCappedAtTheEngines() throws BackendException {
    assertEquals(
        1_000_000_000L,
        ContainerPlan.of(spec(null, null, 1, null), "img", "/b", "host", "127.0.0.1:10000", 2)
            .nanoCpus());
    assertEquals(
        2_000_000_000L,
        ContainerPlan.of(spec(null, null, 8, null), "img", "/b", "host", "127.0.0.1:10000", 2)
            .nanoCpus());
    assertNull(
        ContainerPlan.of(spec(null, null, null, null), "img", "/b", "host", "127.0.0.1:10000", 2)
            .nanoCpus());
  }

  @Test
  void noCommandMeansTheImages() throws BackendException {
    assertEquals(
        List.of(),
        ContainerPlan.of(spec(null, null, null, null), "img", "/b", "host", "127.0.0.1:10000", 2)
            .command());
  }

  @Test
  void badCommandNamesTheManifestField() {
    BackendException e =
        assertThrows(
            BackendException.class,
            () ->
                ContainerPlan.of(
                    spec(null, null, null, "sh -c 'oops"),
                    "img",
                    "/b",
                    "host",
                    "127.0.0.1:10000",
                    2));
    assertEquals(
        "/build/machines/sample-container/sample-container-1.2/manifest: field `command`: "
            + "unterminated single quote at column 7",
        e.getMessage());
  }
}
