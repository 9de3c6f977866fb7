package dev.buildhost.manager.journal;

import java.time.Instant;

/**
 * Whether the journal keeps up, as {@code GET /v1/host} and the metrics show it.
 *
 * @param unwrittenRecords instances whose current state is not in their record yet (a write failed
 *     and is being retried)
 * @param failedWrites journal writes that failed since the daemon started
 * @param lastError what the last failed write said; null when none failed
 * @param lastErrorAt when it failed; null when none failed
 */
public record JournalHealth(
    int unwrittenRecords, long failedWrites, String lastError, Instant lastErrorAt) {}
