package dev.buildhost.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.buildhost.manager.api.Metrics;
import dev.buildhost.manager.journal.JournalHealth;
import dev.buildhost.manager.model.EndReason;
import dev.buildhost.manager.model.InstanceState;
import dev.buildhost.manager.model.ManagerException;
import dev.buildhost.monitor.reboot.RebootMetricsFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Every metric the Prometheus alert rules (doc/prometheus/) and the Grafana dashboard
 * (doc/grafana/) use is one that is exported: by the daemon's GET /metrics (rendered here by {@link
 * Metrics} itself), by the monitor's textfile ({@link RebootMetricsFile}), or one of the few named
 * external ones. And every label value they match on exactly (reason="NO_CAPACITY",
 * state="RUNNING") is one the daemon produces.
 */
class MetricNamesTest {
  static final Path DOC = Path.of(System.getProperty("buildhost.repo", ".."), "doc");

  /**
   * Not buildhost's: Prometheus's own scrape-health series, and node_exporter's file system
   * collector, which sees the TFTP root's tmpfs (the daemon reads no file system sizes).
   */
  static final Set<String> EXTERNAL =
      Set.of("up", "node_filesystem_avail_bytes", "node_filesystem_size_bytes");

  static final Set<String> KEYWORDS =
      Set.of(
          "by",
          "without",
          "on",
          "ignoring",
          "group_left",
          "group_right",
          "bool",
          "and",
          "or",
          "unless",
          "offset",
          "inf",
          "nan");
  static final Pattern STRING = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"");
  static final Pattern GROUPING =
      Pattern.compile("\\b(?:by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
  static final Pattern IDENTIFIER =
      Pattern.compile("(?<![\\w.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\\s*\\()?");
  static final Pattern SELECTOR = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)\\s*\\{([^}]*)}");
  static final Pattern EQUALS_MATCHER = Pattern.compile("(\\w+)\\s*=\\s*\"([^\"]*)\"");

  /** The metric names a PromQL expression reads. */
  static Set<String> metricNames(String expr) {
    String s = GROUPING.matcher(expr).replaceAll(" ");
    s = s.replaceAll("\\{[^}]*}", " ").replaceAll("\\[[^]]*]", " ");
    s = STRING.matcher(s).replaceAll(" ");
    Set<String> names = new TreeSet<>();
    Matcher m = IDENTIFIER.matcher(s);
    while (m.find()) {
      boolean function = m.group(2) != null;
      if (!function && !KEYWORDS.contains(m.group(1).toLowerCase(Locale.ROOT))) {
        names.add(m.group(1));
      }
    }
    return names;
  }

  /** Every PromQL expression of the rules and the dashboard, with where it is. */
  static Map<String, String> expressions() throws Exception {
    Map<String, String> found = new java.util.LinkedHashMap<>();
    Path rules = DOC.resolve("prometheus/buildhost-alerts.yml");
    JsonNode yaml = new ObjectMapper(new YAMLFactory()).readTree(rules.toFile());
    for (JsonNode group : yaml.path("groups")) {
      for (JsonNode rule : group.path("rules")) {
        found.put(
            rules.getFileName() + ": " + rule.path("alert").asText(rule.path("record").asText()),
            rule.path("expr").asText());
      }
    }
    Path dashboard = DOC.resolve("grafana/buildhost-dashboard.json");
    JsonNode json = new ObjectMapper().readTree(dashboard.toFile());
    for (JsonNode panel : json.path("panels")) {
      for (JsonNode target : panel.path("targets")) {
        found.put(
            dashboard.getFileName()
                + ": "
                + panel.path("title").asText()
                + " "
                + target.path("refId").asText(),
            target.path("expr").asText());
      }
    }
    for (JsonNode variable : json.path("templating").path("list")) {
      Matcher m =
          Pattern.compile("label_values\\((.*),\\s*\\w+\\)")
              .matcher(variable.path("query").asText());
      if (m.matches()) {
        found.put(
            dashboard.getFileName() + ": variable " + variable.path("name").asText(), m.group(1));
      }
    }
    return found;
  }

  static Set<String> exported() {
    String text =
        new Metrics().render(List.of(), false, 0, new JournalHealth(0, 0, null, null))
            + RebootMetricsFile.render(0, 0);
    return text.lines()
        .filter(l -> l.startsWith("# TYPE "))
        .map(l -> l.split(" ")[2])
        .collect(Collectors.toCollection(TreeSet::new));
  }

  @Test
  void theParserFindsMetricNamesAndOnlyThose() {
    assertEquals(
        Set.of("a_total", "b"),
        metricNames(
            "sum by (job, instance) (increase(a_total{reason=\"X\", job=~\"$job\"}[15m])) / on (x) b > 0.5"));
    assertEquals(Set.of("up"), metricNames("up{job=\"buildhost\"} == 0"));
  }

  @Test
  void everyMetricTheRulesAndTheDashboardUseIsExported() throws Exception {
    Set<String> exported = exported();
    assertTrue(exported.contains("buildhost_instance_start_failures_total"), exported.toString());
    List<String> unknown = new ArrayList<>();
    Set<String> used = new TreeSet<>();
    expressions()
        .forEach(
            (where, expr) -> {
              Set<String> names = metricNames(expr);
              if (names.isEmpty()) {
                unknown.add(where + ": reads no metric: " + expr);
              }
              for (String name : names) {
                used.add(name);
                if (!exported.contains(name) && !EXTERNAL.contains(name)) {
                  unknown.add(where + ": " + name);
                }
              }
            });
    assertEquals(List.of(), unknown, "not exported (exported: " + exported + ")");
    assertTrue(used.size() >= 10, "the rules and the dashboard read " + used);
  }

  @Test
  void everyLabelValueMatchedExactlyIsOneTheDaemonProduces() throws Exception {
    Map<String, Set<String>> produced =
        Map.of(
            "buildhost_instance_start_failures_total/reason", names(ManagerException.Kind.values()),
            "buildhost_instance_stops_total/reason", names(EndReason.values()),
            "buildhost_instances/state", names(InstanceState.values()));
    List<String> wrong = new ArrayList<>();
    int checked = 0;
    for (var e : expressions().entrySet()) {
      Matcher selector = SELECTOR.matcher(e.getValue());
      while (selector.find()) {
        Matcher matcher = EQUALS_MATCHER.matcher(selector.group(2));
        while (matcher.find()) {
          Set<String> values = produced.get(selector.group(1) + "/" + matcher.group(1));
          if (values != null) {
            checked++;
            if (!values.contains(matcher.group(2))) {
              wrong.add(
                  e.getKey()
                      + ": "
                      + selector.group(1)
                      + "{"
                      + matcher.group(1)
                      + "=\""
                      + matcher.group(2)
                      + "\"} (the daemon produces "
                      + values
                      + ")");
            }
          }
        }
      }
    }
    assertEquals(List.of(), wrong);
    assertTrue(checked >= 4, "label values checked: " + checked);
  }

  static Set<String> names(Enum<?>[] values) {
    return Arrays.stream(values).map(Enum::name).collect(Collectors.toSet());
  }
}
