package dev.buildhost.manager.instance;

import java.nio.file.Path;

/**
 * A revision published from an instance's kept disk.
 *
 * @param machine the machine
 * @param version its {@code P.R}
 * @param folder its folder
 * @param inService whether it was put into service (its {@code <name>-<P>} symlink swapped)
 */
public record PublishedRevision(String machine, String version, Path folder, boolean inService) {}
