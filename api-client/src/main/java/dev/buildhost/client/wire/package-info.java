/**
 * The HTTP API's JSON, one record per shape the daemon sends or accepts (doc/api/openapi.yaml).
 * These are the wire format only: the daemon maps its own model onto them at its edge, so the model
 * can change without changing what a client reads.
 */
package dev.buildhost.client.wire;
