package dev.buildhost.manager.instance;

import dev.buildhost.manager.backend.InstanceBackend;
import dev.buildhost.manager.backend.InstanceBackendContract;
import dev.buildhost.manager.backend.LaunchSpec;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.io.TempDir;

/** The fake backend the lifecycle tests use keeps the contract the real ones keep. */
class FakeBackendContractTest extends InstanceBackendContract {
  @TempDir Path root;

  private final Set<String> host = ConcurrentHashMap.newKeySet();

  @Override
  protected InstanceBackend makeBackend() {
    return new FakeBackend(host);
  }

  @Override
  protected LaunchSpec launchable(String id) {
    return new LaunchSpec(
        id,
        TestMachines.revision(root, "small", 256L),
        root.resolve("instances").resolve(id),
        10001);
  }

  @Override
  protected LaunchSpec broken(String id) {
    return new LaunchSpec(
        id,
        TestMachines.revision(root, "broken", 256L),
        root.resolve("instances").resolve(id),
        10001);
  }
}
