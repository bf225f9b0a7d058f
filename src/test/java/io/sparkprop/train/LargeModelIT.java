package io.sparkprop.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.sparkprop.testutil.ChildJvm;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A network of 5.26M parameters (1024-2048-1536-10; a gradient is 42 MB) on 64 shards trains in
 * {@code local[2]} in a JVM with Spark's default driver memory of 1 GB and the default
 * {@code spark.driver.maxResultSize} of 1 GB. With the default depth 2, eight partial gradients
 * (337 MB) would reach the driver, more than a quarter of its heap, so the plan merges them pairwise
 * on the executors and the driver receives one.
 */
@Tag("large")
class LargeModelIT {
    @TempDir
    Path dir;

    @Test
    void fiveMillionParametersOn64ShardsTrainWithTheDefaultDriverMemory() throws Exception {
        ProcessBuilder pb = new ProcessBuilder(ChildJvm.command("1g", System.getProperty("java.class.path"),
                LargeModelMain.class.getName(), "64", "8", "2"));
        pb.environment().put("OPENBLAS_NUM_THREADS", "1");
        pb.directory(new File(System.getProperty("user.dir")));
        String out = ChildJvm.runToSuccess(pb, dir.resolve("large-model.log"), 10, "the training");
        String line = out.lines().filter(l -> l.startsWith("result: ")).findFirst()
                .orElseThrow(() -> new AssertionError("no result line: " + out));
        Map<String, String> result = new HashMap<>();
        for (String field : line.substring("result: ".length()).split(" (?=\\w+=)")) {
            String[] kv = field.split("=", 2);
            result.put(kv[0], kv[1]);
        }
        assertEquals("5261834", result.get("parameters"), line);
        assertEquals("64", result.get("shards"), line);
        assertEquals("[pairwise merges of 64 partial results on the executors, 1 at the driver]", result.get("plan"),
                line);
        assertEquals("1024", result.get("heapMaxMB"), line);
        List<String> losses = List.of(result.get("losses").split(","));
        assertEquals(2, losses.size(), line);
        assertTrue(Double.parseDouble(losses.get(1)) < Double.parseDouble(losses.get(0)), line);
        assertTrue(!out.contains("OutOfMemoryError"), out);
    }
}
