package dev.buildhost.manager.instance;

import dev.buildhost.manager.event.InstanceEvent;
import java.io.InputStream;
import java.util.List;
import java.util.function.Consumer;

/**
 * The Java API of the machine manager, the one the HTTP API is a thin layer over. Every method
 * throws {@link ManagerException} for requests it refuses (unknown id, bad name, no capacity).
 */
public final class InstanceManager implements AutoCloseable {
  // CONTRACT: method signatures the daemon codes against; the manager core implements them.

  /** Starts an instance; returns once it is launched (state RUNNING or STARTING). */
  public Instance start(StartRequest request) {
    throw new UnsupportedOperationException("not implemented yet");
  }

  public Instance get(String id) {
    throw new UnsupportedOperationException("not implemented yet");
  }

  public List<Instance> list() {
    throw new UnsupportedOperationException("not implemented yet");
  }

  /** ACPI shutdown / SIGTERM, then kill after the grace period. Returns at once. */
  public Instance poweroff(String id) {
    throw new UnsupportedOperationException("not implemented yet");
  }

  /** Destroy / SIGKILL. Returns at once. */
  public Instance terminate(String id) {
    throw new UnsupportedOperationException("not implemented yet");
  }

  /** Removes a stopped instance's folder and console log. CONFLICT while it runs. */
  public void delete(String id) {
    throw new UnsupportedOperationException("not implemented yet");
  }

  /** Writes a file into the instance folder atomically (temporary file, then rename). */
  public void putFile(String id, String name, InputStream content) {
    throw new UnsupportedOperationException("not implemented yet");
  }

  public InputStream openFile(String id, String name) {
    throw new UnsupportedOperationException("not implemented yet");
  }

  public List<FileEntry> listFiles(String id) {
    throw new UnsupportedOperationException("not implemented yet");
  }

  /** The console log of the instance (VM serial console or container output). */
  public InputStream openConsoleLog(String id) {
    throw new UnsupportedOperationException("not implemented yet");
  }

  /** Subscribes to lifecycle events; closing the returned handle unsubscribes. */
  public AutoCloseable subscribe(Consumer<InstanceEvent> listener) {
    throw new UnsupportedOperationException("not implemented yet");
  }

  /** While draining, start() refuses with NO_CAPACITY; running instances go on. */
  public void setDraining(boolean draining) {
    throw new UnsupportedOperationException("not implemented yet");
  }

  public boolean isDraining() {
    throw new UnsupportedOperationException("not implemented yet");
  }

  @Override
  public void close() {
    throw new UnsupportedOperationException("not implemented yet");
  }
}
