package dev.buildhost.manager.instance;

import dev.buildhost.manager.machine.Revision;
import java.nio.file.Path;

/**
 * What a backend needs to launch one instance.
 *
 * @param instanceId  unique id, also the label/name the backend puts on the domain or container
 * @param revision    the machine revision the instance runs (fixed for the instance's life)
 * @param instanceDir {@code <root>/instances/<id>/}: overlay disk, console.log
 * @param tftpPort    the instance's writable TFTP port on 127.0.0.1
 */
public record LaunchSpec(String instanceId, Revision revision, Path instanceDir, int tftpPort) {

  public Path consoleLog() {
    return instanceDir.resolve("console.log");
  }
}
