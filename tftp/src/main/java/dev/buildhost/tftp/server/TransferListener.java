package dev.buildhost.tftp.server;

/** Receives transfer events; called on server threads, so it must return quickly. */
@FunctionalInterface
public interface TransferListener {
  void onTransfer(TransferEvent event);
}
