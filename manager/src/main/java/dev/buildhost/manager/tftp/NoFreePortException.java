package dev.buildhost.manager.tftp;

import java.io.IOException;

/** Every port of the per-instance TFTP range is held by an instance or used by another program. */
public final class NoFreePortException extends IOException {
  public NoFreePortException(String message) {
    super(message);
  }
}
