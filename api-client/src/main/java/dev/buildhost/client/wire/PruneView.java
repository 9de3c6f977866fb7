package dev.buildhost.client.wire;

import java.util.List;

/**
 * The answer of {@code POST /v1/bootstrapped/prune}.
 *
 * @param removed the ids of the stale bootstrapped states removed
 * @param kept the ids of the states left (current ones, and stale ones instances still run on)
 * @param removedImages the images of deleted machine revisions removed from the engine, by tag
 *     (empty from a daemon older than the field)
 */
public record PruneView(List<String> removed, List<String> kept, List<String> removedImages) {

  public PruneView {
    removedImages = removedImages == null ? List.of() : List.copyOf(removedImages);
  }
}
