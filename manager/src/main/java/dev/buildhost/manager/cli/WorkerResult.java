package dev.buildhost.manager.cli;

/**
 * The head of a worker's {@code result.manifest} (a build2 manifest): its {@code status} and {@code
 * exit-code} values; the log after them is not read.
 *
 * @param status success, error or abnormal; null when the manifest has none
 * @param exitCode the worker's exit code; null when the manifest has none
 */
record WorkerResult(String status, Integer exitCode) {

  static WorkerResult parse(String manifest) {
    String status = null;
    Integer exitCode = null;
    for (String line : manifest.split("\n")) {
      if (line.startsWith("log:")) {
        break; // the log is free text, its lines are no fields
      }
      int colon = line.indexOf(':');
      if (colon <= 0) {
        continue;
      }
      String name = line.substring(0, colon).strip();
      String value = line.substring(colon + 1).strip();
      if (name.equals("status")) {
        status = value;
      } else if (name.equals("exit-code")) {
        try {
          exitCode = Integer.valueOf(value);
        } catch (NumberFormatException e) {
          exitCode = null;
        }
      }
    }
    return new WorkerResult(status, exitCode);
  }

  boolean succeeded() {
    return "success".equals(status) && (exitCode == null || exitCode == 0);
  }
}
