package io.sparkprop.job;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.sparkprop.testutil.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jobs/shell/quickstart.scala} runs to completion in a plain Scala 2.13 REPL
 * ({@code scala.tools.nsc.MainGenericRunner -usejavacp -i}) with the Spark jars and the shaded
 * sparkprop jar on the class path — the stand-in for spark-shell, whose REPL is not published here.
 */
class ShellScriptIT {
    @TempDir
    Path dir;

    /** The test class path as files, expanding a manifest-only jar (as Maven's test runners use). */
    private static List<String> classPath() throws Exception {
        List<String> entries = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (entry.endsWith(".jar") && Paths.get(entry).getFileName().toString().startsWith("surefirebooter")) {
                try (JarFile jar = new JarFile(entry)) {
                    String manifest = jar.getManifest().getMainAttributes().getValue("Class-Path");
                    for (String url : manifest.split(" ")) {
                        if (!url.isEmpty()) {
                            entries.add(Paths.get(new java.net.URI(url)).toString());
                        }
                    }
                }
            } else {
                entries.add(entry);
            }
        }
        return entries;
    }

    @Test
    void theQuickStartScriptRunsInAScalaRepl() throws Exception {
        List<String> cp = new ArrayList<>();
        cp.add(System.getProperty("sparkprop.jar"));
        for (String entry : classPath()) {
            // the shaded jar stands for our classes; Spark, Scala and the REPL come from the test class path
            if (!entry.endsWith("target" + File.separator + "classes")
                    && !entry.endsWith("target" + File.separator + "test-classes")) {
                cp.add(entry);
            }
        }
        List<String> command = ChildJvm.command("2g", String.join(File.pathSeparator, cp),
                "scala.tools.nsc.MainGenericRunner", "-usejavacp", "-nc", "-i",
                Paths.get("jobs", "shell", "quickstart.scala").toAbsolutePath().toString());
        String output = ChildJvm.runToSuccess(new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))), dir.resolve("repl.log"), 5,
                "the script");
        Matcher m = Pattern.compile("sparkprop quickstart: test accuracy (\\d\\.\\d+)").matcher(output);
        assertTrue(m.find(), output);
        assertTrue(Double.parseDouble(m.group(1)) >= 0.8, output);
        assertTrue(!output.contains("error:"), output);
    }
}
