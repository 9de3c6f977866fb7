package dev.buildhost.monitor.http;

/** Told how a download advances; called from HTTP client threads. */
public interface ProgressListener {
  ProgressListener NONE = new ProgressListener() {};

  /**
   * @param total the announced length, or -1
   */
  default void started(String name, long total) {}

  default void advanced(long bytesSoFar) {}

  default void finished(boolean ok) {}
}
