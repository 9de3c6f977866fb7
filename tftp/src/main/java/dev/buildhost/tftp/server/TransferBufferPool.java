package dev.buildhost.tftp.server;

import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Transfer buffers kept for the next transfer. The servers of one shared {@link RequestLoop} (the
 * daemon's port per instance) share one pool, so the process holds buffers for as many transfers as
 * ran at once, not for every port it served: a server's direct buffers would otherwise stay
 * allocated after it closed, until a full collection happened to free them.
 */
final class TransferBufferPool {
  private final ConcurrentLinkedQueue<TransferBuffers> free = new ConcurrentLinkedQueue<>();

  TransferBuffers take() {
    TransferBuffers buffers = free.poll();
    return buffers != null ? buffers : new TransferBuffers();
  }

  void give(TransferBuffers buffers) {
    free.offer(buffers);
  }

  void clear() {
    free.clear();
  }
}
