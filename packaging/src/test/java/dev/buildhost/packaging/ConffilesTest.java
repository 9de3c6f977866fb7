package dev.buildhost.packaging;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildhost.manager.daemon.DaemonSettings;
import dev.buildhost.monitor.config.ConfigFile;
import dev.buildhost.monitor.config.MonitorConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The package's conffiles /etc/buildhost/daemon.conf and monitor.conf show every setting the
 * programs know, commented out ({@code #key = value}), each once; with every '#' of those lines
 * removed the programs' own parsers accept the file, and where a setting has a fixed default the
 * shown value is that default. As shipped (all commented) the daemon runs on its defaults.
 */
class ConffilesTest {
  static final Path ETC = Path.of(System.getProperty("buildhost.debSource", "src/deb"), "etc");
  static final Pattern SETTING = Pattern.compile("#([a-z][a-z_-]*) = (.*)");

  @TempDir Path tmp;

  /** key -> shown value of the commented setting lines, in file order; a key twice fails. */
  static Map<String, String> shownSettings(List<String> lines) {
    Map<String, String> shown = new LinkedHashMap<>();
    for (String line : lines) {
      Matcher m = SETTING.matcher(line);
      if (m.matches()) {
        String before = shown.put(m.group(1), m.group(2));
        assertEquals(null, before, "'" + m.group(1) + "' is shown twice");
      }
    }
    return shown;
  }

  /** The file with its commented setting lines made active. */
  static String uncommented(List<String> lines) {
    return lines.stream()
        .map(l -> SETTING.matcher(l).matches() ? l.substring(1) : l)
        .collect(Collectors.joining("\n", "", "\n"));
  }

  @Test
  void daemonConfShowsEverySettingWithItsDefault() throws Exception {
    Path shipped = ETC.resolve("daemon.conf");
    List<String> lines = Files.readAllLines(shipped);
    Set<String> known =
        Arrays.stream(dev.buildhost.manager.daemon.Setting.values())
            .map(dev.buildhost.manager.daemon.Setting::key)
            .collect(Collectors.toCollection(TreeSet::new));
    assertEquals(known, new TreeSet<>(shownSettings(lines).keySet()));

    DaemonSettings defaults = DaemonSettings.resolve(Map.of(), "none", Map.of());
    assertEquals(
        Map.of(),
        dev.buildhost.manager.daemon.ConfigFile.read(shipped).values(),
        "as shipped, nothing is set");

    Path active = Files.writeString(tmp.resolve("daemon.conf"), uncommented(lines));
    var read = dev.buildhost.manager.daemon.ConfigFile.read(active);
    assertEquals(List.of(), read.warnings(), "no old spelling in the shipped file");
    var values = read.values();
    assertEquals(known.size(), values.size());
    assertEquals(
        defaults,
        DaemonSettings.resolve(values, active.toString(), Map.of()),
        "every value shown is the default");
  }

  @Test
  void monitorConfShowsEverySettingWithItsDefaultOrAUsableExample() throws Exception {
    Path shipped = ETC.resolve("monitor.conf");
    List<String> lines = Files.readAllLines(shipped);
    var settings = dev.buildhost.monitor.config.Setting.values();
    Set<String> known =
        Arrays.stream(settings)
            .map(dev.buildhost.monitor.config.Setting::key)
            .collect(Collectors.toCollection(TreeSet::new));
    Map<String, String> shown = shownSettings(lines);
    assertEquals(known, new TreeSet<>(shown.keySet()));

    for (var setting : settings) {
      String defaultText = setting.defaultText();
      boolean fixed =
          !defaultText.startsWith("none")
              && !defaultText.contains("<")
              && !defaultText.startsWith("the ");
      if (fixed) {
        assertEquals(defaultText, shown.get(setting.key()), setting.key() + " shows its default");
      }
    }

    assertDoesNotThrow(
        () -> MonitorConfig.resolve(List.of(ConfigFile.read(shipped))), "as shipped");
    byte[] active = uncommented(lines).getBytes(StandardCharsets.UTF_8);
    MonitorConfig all =
        MonitorConfig.resolve(List.of(ConfigFile.parse("monitor.conf, uncommented", active)));
    assertTrue(all.warnings().isEmpty(), "no warnings: " + all.warnings());
  }
}
