package io.sparkprop.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jobs/train} as a user runs it, on data with an empty cell: the console says what is wrong in
 * one line (the column, the file, the row's values) and where the full log went; Spark's task failures
 * and stack traces are in that log, not on the console.
 */
class TrainScriptIT {
    @TempDir
    Path dir;

    @Test
    void aDataErrorIsOneLineOnTheConsoleAndTheTracesAreInTheLog() throws Exception {
        StringBuilder csv = new StringBuilder("a,b,label\n");
        for (int i = 0; i < 200; i++) {
            csv.append(i == 56 ? "" : Double.toString(i * 0.01)).append(',').append(1 - i * 0.003).append(',')
                    .append(i % 7).append('\n');
        }
        Path data = dir.resolve("data.csv");
        Files.writeString(data, csv);
        Path conf = dir.resolve("bad.properties");
        Files.writeString(conf, "data.format=csv\ndata.path=" + data + "\nmodel.type=ridge\nspark.master=local[2]\n"
                + "output.dir=" + dir.resolve("out") + "\n");
        Path stdout = dir.resolve("stdout.txt");
        Path stderr = dir.resolve("stderr.txt");
        Process p = new ProcessBuilder("bash", "jobs/train", conf.toString()).directory(Paths.get("").toAbsolutePath().toFile())
                .redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "jobs/train did not finish in 5 minutes");
        String console = Files.readString(stderr);
        assertEquals(2, p.exitValue(), console);
        List<String> lines = console.lines().toList();
        assertTrue(Pattern.compile("sparkprop: column 'a' is empty \\(null\\) in a row of file:/*"
                + Pattern.quote(data.toString().replaceFirst("^/+", "")) + " \\(a=null, b=0\\.83\\d*, label=0\\); remove "
                + "or impute non-finite values before training").matcher(console).find(), console);
        assertFalse(console.contains("\tat "), "no stack trace on the console:\n" + console);
        assertFalse(console.contains("Exception in task"), console);
        assertTrue(lines.size() < 15, lines.size() + " lines on the console:\n" + console);
        Matcher m = Pattern.compile("sparkprop: the full log, with Spark's stack traces, is in (\\S+)").matcher(console);
        assertTrue(m.find(), console);
        String log = Files.readString(Paths.get(m.group(1)));
        assertTrue(log.contains("Exception in task") && log.contains("\tat "), "the log keeps the traces");
        assertFalse(Files.exists(dir.resolve("out")));
    }
}
