package io.sparkprop.testutil;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Command lines of child JVMs for the integration tests: this JVM's java, Spark's Java 17 flags. */
public final class ChildJvm {
    private ChildJvm() {
    }

    /** {@code java -Xmx<heap> <Spark's flags> -cp <classPath> <mainClass> <args>}. */
    public static List<String> command(String heap, String classPath, String mainClass, String... args) {
        List<String> command = new ArrayList<>();
        command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx" + heap);
        command.addAll(Arrays.asList(System.getProperty("sparkprop.jvmFlags").trim().split("\\s+")));
        command.add("-cp");
        command.add(classPath);
        command.add(mainClass);
        command.addAll(Arrays.asList(args));
        return command;
    }

    /**
     * Runs {@code process} (its output, both streams, to {@code log}) until it ends; fails unless it ends
     * within {@code minutes} with exit code 0. The process is killed in any case.
     *
     * @return what it printed
     */
    public static String runToSuccess(ProcessBuilder process, Path log, int minutes, String what)
            throws IOException, InterruptedException {
        Process p = process.redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            assertTrue(p.waitFor(minutes, TimeUnit.MINUTES), what + " finished within " + minutes + " minutes");
        } finally {
            p.destroyForcibly();
        }
        String output = Files.readString(log);
        assertEquals(0, p.exitValue(), output);
        return output;
    }
}
