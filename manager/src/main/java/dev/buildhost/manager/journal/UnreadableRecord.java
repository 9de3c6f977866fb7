package dev.buildhost.manager.journal;

import java.nio.file.Path;
import java.time.Instant;

/**
 * A journal record that cannot be read, kept as {@code <id>.json.bad}, and what could still be made
 * out of it. Its instance is shown as UNKNOWN: its guest and folders are left alone until an
 * operator deletes it.
 *
 * @param id the instance id, from the file's name
 * @param file the record as it is kept now
 * @param problem what is wrong with it (one line)
 * @param tftpPort the TFTP port the text still names, 0 when none can be made out
 * @param machine the machine the text still names, null when none
 * @param revision the revision the text still names, null when none
 * @param createdAt when the instance was created, as the text still says; null when it does not
 */
public record UnreadableRecord(
    String id,
    Path file,
    String problem,
    int tftpPort,
    String machine,
    String revision,
    Instant createdAt) {}
