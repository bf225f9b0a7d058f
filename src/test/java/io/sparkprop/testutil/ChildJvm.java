package io.sparkprop.testutil;

import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

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
}
