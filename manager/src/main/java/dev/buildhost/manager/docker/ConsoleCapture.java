package dev.buildhost.manager.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Frame;
import dev.buildhost.manager.backend.BackendException;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies a container's stdout and stderr, as they come, into the instance's console log.
 *
 * <p>A new container's output comes through an attachment made before the container starts: the
 * engine hands over every byte, and makes the container wait while the copy is behind. After a
 * daemon restart, or when that stream broke off, the copy follows the engine's own log of the
 * container (json-file) from its first byte and rewrites the console log whole. The copy ends by
 * itself when the container stops.
 *
 * <p>It keeps at most {@link #MAX_KEPT_BYTES} of output (a build that floods its output must not
 * fill the host's disk): the rest is counted, and a last line of the console log says how much was
 * left out.
 */
final class ConsoleCapture {

  private static final Logger LOG = LoggerFactory.getLogger(ConsoleCapture.class);

  /** Output kept in the console log; the rest is counted, and the count noted at the end. */
  static final long MAX_KEPT_BYTES = 16L * 1024 * 1024;

  /**
   * How long an attachment that ended waits for the container's end to be reported before it asks
   * the engine whether the container still runs (the engine closes the attachment just before it
   * reports the end).
   */
  private static final Duration END_REPORT_WAIT = Duration.ofSeconds(2);

  private static final int MAX_RETRIES = 5;
  private static final Duration RETRY_PAUSE = Duration.ofMillis(500);

  private final Path file;
  private final long maxKeptBytes;
  private final CompletableFuture<Void> done = new CompletableFuture<>();
  private final CompletableFuture<Void> containerEnded = new CompletableFuture<>();
  private volatile Closeable stream;
  private volatile boolean stopping;
  private volatile OutputStream out;
  private volatile boolean following;

  /**
   * Times the copy started again after the log stream broke off (only the stream's thread counts).
   */
  private int retries;

  /** Bytes written into the console log, and bytes of output left out past the limit. */
  private long kept;

  private long dropped;

  ConsoleCapture(Path file) {
    this(file, MAX_KEPT_BYTES);
  }

  ConsoleCapture(Path file, long maxKeptBytes) {
    this.file = file;
    this.maxKeptBytes = maxKeptBytes;
  }

  /**
   * Opens the console log, before the container starts so that a log that cannot be written fails
   * the launch rather than a running container.
   *
   * @param rewrite true to replace the console log with the container's whole output (adopting a
   *     container); false to append (a new container)
   */
  synchronized void open(boolean rewrite) throws IOException {
    Files.createDirectories(file.getParent());
    kept = rewrite || !Files.exists(file) ? 0 : Files.size(file);
    dropped = 0;
    out =
        Files.newOutputStream(
            file,
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE,
            rewrite ? StandardOpenOption.TRUNCATE_EXISTING : StandardOpenOption.APPEND);
  }

  /**
   * Attaches to the output of a container not yet started, and returns once the engine has
   * attached: from its start on, the engine hands over each byte as the container writes it. The
   * container waits while the copy falls behind, so a flood loses nothing below the limit; a follow
   * of the engine's log (after a restart) can miss what the log rotated away before it was read. If
   * the attachment breaks off while the container runs, the copy goes on from the engine's log.
   *
   * @throws BackendException when the engine does not attach within {@code timeout}
   */
  void attach(DockerClient docker, String containerId, Duration timeout) throws BackendException {
    following = true;
    Copy copy = new Copy(docker, containerId, out, true);
    docker
        .attachContainerCmd(containerId)
        .withFollowStream(true)
        .withStdOut(true)
        .withStdErr(true)
        .exec(copy);
    try {
      copy.opened.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      abandon();
      throw new BackendException(
          "the Docker engine did not attach to the output of container "
              + containerId
              + " within "
              + timeout.toSeconds()
              + " s");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      abandon();
      throw new BackendException("interrupted while attaching to container " + containerId);
    } catch (ExecutionException e) {
      throw new IllegalStateException(e); // never completed exceptionally
    }
  }

  /**
   * Follows the engine's log of the container from its first byte (a container that runs already);
   * the copy ends by itself when the container stops.
   */
  void follow(DockerClient docker, String containerId) {
    following = true;
    docker
        .logContainerCmd(containerId)
        .withFollowStream(true)
        .withStdOut(true)
        .withStdErr(true)
        .exec(new Copy(docker, containerId, out, false));
  }

  /** One stream of the container's output (an attachment or a follow of its log) into a file. */
  private final class Copy extends ResultCallback.Adapter<Frame> {
    private final DockerClient docker;
    private final String containerId;
    private final OutputStream target;
    private final boolean attachment;
    private final AtomicBoolean ended = new AtomicBoolean();

    /** Completes when the stream is open, or has ended without opening. */
    final CompletableFuture<Void> opened = new CompletableFuture<>();

    Copy(DockerClient docker, String containerId, OutputStream target, boolean attachment) {
      this.docker = docker;
      this.containerId = containerId;
      this.target = target;
      this.attachment = attachment;
    }

    @Override
    public void onStart(Closeable closeable) {
      stream = closeable;
      opened.complete(null);
    }

    @Override
    public void onNext(Frame frame) {
      keep(target, frame.getPayload());
    }

    @Override
    public void onError(Throwable error) {
      opened.complete(null);
      // docker-java may report one end twice: as an error, then as completion.
      if (ended.compareAndSet(false, true)) {
        if (stopping
            || error instanceof NotFoundException
            || !copyAgain(docker, containerId, error.toString())) {
          finish();
        }
      }
    }

    @Override
    public void onComplete() {
      opened.complete(null);
      if (ended.compareAndSet(false, true)) {
        // An attachment ends as the container does, and also, just the same, when the connection
        // to the engine drops.
        if (stopping
            || !attachment
            || !mayStillRun(docker, containerId)
            || !copyAgain(docker, containerId, "the attachment ended before the container")) {
          finish();
        }
      }
    }

    private void finish() {
      closeOutput();
      done.complete(null);
    }
  }

  /** Writes what fits under the limit and counts the rest. */
  private synchronized void keep(OutputStream target, byte[] payload) {
    int room = (int) Math.max(0, Math.min(payload.length, maxKeptBytes - kept));
    dropped += payload.length - room;
    if (room == 0) {
      return;
    }
    try {
      target.write(payload, 0, room);
      kept += room;
    } catch (IOException e) {
      LOG.warn("cannot write {}: {}", file, e.getMessage());
    }
  }

  /** Bytes of output left out of the console log so far (past the limit). */
  synchronized long droppedBytes() {
    return dropped;
  }

  /**
   * After the stream broke off (a dropped connection, not the container's end): copies the whole
   * output again, from the engine's log, a few times at most.
   */
  private boolean copyAgain(DockerClient docker, String containerId, String reason) {
    if (++retries > MAX_RETRIES) {
      LOG.warn("console capture of container {} broke off for good: {}", containerId, reason);
      return false;
    }
    LOG.warn(
        "console capture of container {} broke off ({}); copying its output again",
        containerId,
        reason);
    try {
      Thread.sleep(RETRY_PAUSE.toMillis() * retries);
      closeOutput();
      open(true);
      follow(docker, containerId);
      return true;
    } catch (IOException | RuntimeException e) {
      LOG.warn("cannot copy the output of container {} again: {}", containerId, e.toString());
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** The engine reported that the container ended (its event). */
  void containerEnded() {
    containerEnded.complete(null);
  }

  /**
   * Whether the container may still run: its end was not reported in a moment, and the engine says
   * it runs or does not answer.
   */
  private boolean mayStillRun(DockerClient docker, String containerId) {
    try {
      containerEnded.get(END_REPORT_WAIT.toMillis(), TimeUnit.MILLISECONDS);
      return false;
    } catch (TimeoutException e) {
      // Not reported: the connection to the engine may have dropped; ask the engine.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (ExecutionException e) {
      throw new IllegalStateException(e); // never completed exceptionally
    }
    try {
      return Boolean.TRUE.equals(
          docker.inspectContainerCmd(containerId).exec().getState().getRunning());
    } catch (NotFoundException e) {
      return false;
    } catch (RuntimeException e) {
      return true;
    }
  }

  /** Waits until the container's output is all in the console log; false if that took too long. */
  boolean awaitEnd(Duration timeout) {
    if (!following) {
      return true;
    }
    try {
      done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (ExecutionException e) {
      return true;
    }
  }

  /** Stops following (the container is going away); what was copied stays. */
  void stop() {
    stopping = true;
    Closeable current = stream;
    if (current != null && !done.isDone()) {
      try {
        current.close();
      } catch (IOException e) {
        LOG.debug("closing the log stream: {}", e.toString());
      }
    }
    if (!following) {
      closeOutput(); // never followed: the launch failed
    }
  }

  /** Gives up a copy that never started: the launch fails, and nothing waits for the copy. */
  private void abandon() {
    stop();
    closeOutput();
    done.complete(null);
  }

  private synchronized void closeOutput() {
    if (out != null) {
      try {
        if (dropped > 0) {
          out.write(
              ("\n[buildhost: the console log keeps "
                      + maxKeptBytes
                      + " bytes of output; "
                      + dropped
                      + " more bytes were left out]\n")
                  .getBytes(StandardCharsets.UTF_8));
          dropped = 0;
        }
        out.close();
      } catch (IOException e) {
        LOG.warn("cannot close {}: {}", file, e.getMessage());
      }
      out = null;
    }
  }
}
