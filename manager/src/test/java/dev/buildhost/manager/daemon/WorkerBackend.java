package dev.buildhost.manager.daemon;

import dev.buildhost.common.threads.Threads;
import dev.buildhost.manager.backend.Guest;
import dev.buildhost.manager.backend.GuestListener;
import dev.buildhost.manager.backend.GuestReports;
import dev.buildhost.manager.backend.InstanceBackend;
import dev.buildhost.manager.backend.LaunchSpec;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.MachineType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A stand-in for the Docker backend in fast tests of the API and CLI: each guest is a thread that
 * behaves like the sample worker without a container. It waits for task.manifest in its instance
 * folder, writes result.manifest there (status error and exit code 3 when the task holds "command:
 * false", else success and 0), logs to console.log, and exits with that code. A task holding
 * "command: sleep" makes it run until it is stopped. The real backends are exercised by the
 * integration tests.
 */
public final class WorkerBackend implements InstanceBackend {

  /**
   * Like a guest's boot, a moment between running and the task; the manager's callbacks of one
   * guest are not ordered when they come within microseconds of each other.
   */
  private static final long BOOT_MILLIS = 100;

  private final Map<String, FakeWorker> guests = new ConcurrentHashMap<>();
  private final ExecutorService reportThreads =
      Executors.newCachedThreadPool(Threads.daemonFactory("worker-backend-reports"));

  @Override
  public MachineType type() {
    return MachineType.DOCKER;
  }

  @Override
  public Guest launch(LaunchSpec spec, GuestListener listener) {
    FakeWorker worker = new FakeWorker(spec, listener);
    guests.put(spec.instanceId(), worker);
    worker.thread.start();
    return worker;
  }

  @Override
  public Set<String> ourInstanceIds() {
    return Set.copyOf(guests.keySet());
  }

  @Override
  public Guest adopt(LaunchSpec spec, GuestListener listener) {
    return launch(spec, listener);
  }

  @Override
  public void removeOrphan(String instanceId) {
    FakeWorker worker = guests.remove(instanceId);
    if (worker != null) {
      worker.thread.interrupt();
    }
  }

  @Override
  public void close() {
    guests.values().forEach(w -> w.thread.interrupt());
    reportThreads.shutdown();
  }

  private final class FakeWorker implements Guest {
    private final LaunchSpec spec;
    private final GuestReports listener;
    private final Thread thread;
    private volatile boolean ended;

    FakeWorker(LaunchSpec spec, GuestListener listener) {
      this.spec = spec;
      this.listener = new GuestReports(listener, reportThreads);
      this.thread = Threads.daemon("fake-worker-" + spec.instanceId(), this::work);
    }

    private void work() {
      Path folder =
          spec.instanceDir().getParent().getParent().resolve("tftp").resolve(spec.instanceId());
      try {
        Files.createDirectories(spec.instanceDir());
        console("fake worker: TFTP endpoint 127.0.0.1:" + spec.tftpPort());
        listener.running();
        Thread.sleep(BOOT_MILLIS);
        Path task = folder.resolve("task.manifest");
        while (!Files.exists(task)) {
          Thread.sleep(20);
        }
        String text = Files.readString(task);
        console("fake worker: downloaded task.manifest (" + text.length() + " bytes)");
        while (text.contains("command: sleep")) {
          Thread.sleep(20);
        }
        boolean fail = text.contains("command: false");
        int code = fail ? 3 : 0;
        Files.writeString(
            folder.resolve("result.manifest"),
            ": 1\nstatus: "
                + (fail ? "error" : "success")
                + "\nexit-code: "
                + code
                + "\nlog:\\\n$ true\n\\\n");
        console("fake worker: done, exit code " + code);
        end(EndReason.POWEROFF, code);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (IOException e) {
        end(EndReason.CRASHED, null);
      }
    }

    private void console(String line) throws IOException {
      Files.writeString(
          spec.consoleLog(),
          line + "\n",
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    }

    private synchronized void end(EndReason reason, Integer code) {
      if (!ended) {
        ended = true;
        listener.stopped(reason, code);
      }
    }

    @Override
    public String instanceId() {
      return spec.instanceId();
    }

    @Override
    public void shutdown() {
      thread.interrupt();
      end(EndReason.POWEROFF, 143);
    }

    @Override
    public void kill() {
      thread.interrupt();
      end(EndReason.CRASHED, 137);
    }

    @Override
    public void release() {
      guests.remove(spec.instanceId());
    }
  }
}
