package dev.buildhost.monitor.bootstrap;

import dev.buildhost.monitor.http.ProgressListener;
import java.io.PrintStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Download progress: a redrawn bar on a terminal, or one log line per file otherwise. */
public final class Progress {
  private static final Logger LOG = LoggerFactory.getLogger(Progress.class);

  private Progress() {}

  /** A bar on stdout when it is a terminal ({@code System.console() != null}), else log lines. */
  // SystemConsoleNull: on JDK 17, which the project targets, null means "not a terminal"; JDK 22
  // changed that, and Console.isTerminal(), its replacement, does not exist on 17.
  @SuppressWarnings("SystemConsoleNull")
  public static ProgressListener forConsole() {
    return System.console() != null ? new Bar(System.out) : new Lines();
  }

  /** Logs when a file starts and ends. */
  public static final class Lines implements ProgressListener {
    private volatile String name;
    private volatile long size;
    private volatile long startNanos;

    @Override
    public void started(String name, long total) {
      this.name = name;
      this.startNanos = System.nanoTime();
      LOG.info("downloading {}{}", name, total >= 0 ? " (" + human(total) + ")" : "");
    }

    @Override
    public void advanced(long bytesSoFar) {
      size = bytesSoFar;
    }

    @Override
    public void finished(boolean ok) {
      long ms = (System.nanoTime() - startNanos) / 1_000_000;
      if (ok) {
        LOG.info("downloaded {}: {} in {} ms", name, human(size), ms);
      } else {
        LOG.warn("download of {} stopped after {} and {} ms", name, human(size), ms);
      }
    }
  }

  /**
   * {@code name [=========> ] 47% 12.0 MiB/25.5 MiB 3.2 MiB/s}, redrawn at most 10 times a second.
   */
  public static final class Bar implements ProgressListener {
    private static final int WIDTH = 30;
    private final PrintStream out;
    private String name;
    private long total;
    private long startNanos;
    private long lastDraw;
    private long size;

    public Bar(PrintStream out) {
      this.out = out;
    }

    @Override
    public synchronized void started(String name, long total) {
      this.name = name;
      this.total = total;
      this.startNanos = System.nanoTime();
      this.lastDraw = 0;
      this.size = 0;
      draw();
    }

    @Override
    public synchronized void advanced(long bytesSoFar) {
      size = bytesSoFar;
      long now = System.nanoTime();
      if (now - lastDraw > 100_000_000L) {
        lastDraw = now;
        draw();
      }
    }

    @Override
    public synchronized void finished(boolean ok) {
      draw();
      out.println(ok ? "" : "  failed");
      out.flush();
    }

    /** The text of the bar for the current state (visible for tests). */
    public synchronized String line() {
      double secs = Math.max(1e-3, (System.nanoTime() - startNanos) / 1e9);
      StringBuilder b = new StringBuilder();
      b.append(name).append(' ');
      if (total > 0) {
        int pct = (int) Math.min(100, size * 100 / total);
        int fill = pct * WIDTH / 100;
        b.append('[')
            .append("=".repeat(fill))
            .append(fill < WIDTH ? ">" : "")
            .append(" ".repeat(Math.max(0, WIDTH - fill - 1)))
            .append("] ");
        b.append(String.format("%3d%%  %s/%s", pct, human(size), human(total)));
      } else {
        b.append(human(size));
      }
      b.append(String.format("  %s/s", human((long) (size / secs))));
      return b.toString();
    }

    private void draw() {
      out.print("\r" + line() + "\u001b[K");
      out.flush();
    }
  }

  static String human(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    double v = bytes;
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    int i = -1;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return String.format("%.1f %s", v, units[i]);
  }
}
