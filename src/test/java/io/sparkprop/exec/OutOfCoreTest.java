package io.sparkprop.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import io.sparkprop.data.Example;
import io.sparkprop.linalg.Precision;
import io.sparkprop.nn.Activation;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.optim.Optimizer;
import io.sparkprop.testutil.LocalSpark;
import io.sparkprop.train.MlpSettings;
import io.sparkprop.train.Trainer;
import io.sparkprop.train.TrainingResult;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.SparkSession;
import org.ejml.data.DMatrixRMaj;
import org.ejml.data.DMatrixSparseCSC;
import org.ejml.data.FMatrixRMaj;
import org.ejml.data.FMatrixSparseCSC;
import org.ejml.data.Matrix;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Data larger than memory: the canonical order through sorted runs on disk, blocks written and read back in
 * their binary form, and training whose blocks are on disk giving the bits of training in memory, with no file
 * left behind however the fit ends.
 */
@ExtendWith(LocalSpark.class)
class OutOfCoreTest {
    private static SparkSession spark;
    private static JavaSparkContext sc;

    private static final Supplier<File> TEMP = CanonicalSort.sparkLocalFiles();

    /** Dense and sparse rows with duplicates, values that are equal but for their sign of zero, and weights. */
    private static List<Example> hostileRows(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Example> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int kind = r.nextInt(5);
            Example e;
            if (kind == 0 && !rows.isEmpty()) {
                e = rows.get(r.nextInt(rows.size())); // a duplicate
            } else if (kind == 1) {
                e = Example.weighted(0.5 + r.nextInt(3), Vectors.sparse(6, new int[] {r.nextInt(3), 4},
                        new double[] {r.nextInt(4) - 1.5, 1e9 + r.nextInt(3)}), r.nextInt(3));
            } else {
                e = Example.of(new double[] {r.nextInt(3), r.nextBoolean() ? 0.0 : -0.0, 1.7e9 + r.nextInt(2),
                    r.nextGaussian(), 0, r.nextInt(2)}, r.nextInt(3));
            }
            rows.add(e);
        }
        return rows;
    }

    private static List<CanonicalSort.Entry> drain(CanonicalSort sort, List<Example> rows) {
        for (int i = 0; i < rows.size(); i++) {
            sort.add(rows.get(i), i);
        }
        List<CanonicalSort.Entry> out = new ArrayList<>();
        sort.sorted().forEachRemaining(out::add);
        return out;
    }

    @Test
    void theOrderThroughSortedRunsIsTheInMemoryOrder() {
        List<Example> rows = hostileRows(3_000, 1);
        // a coarse hash: many rows share their high bits, so that the groups ordered by value are large
        java.util.function.ToLongFunction<Example> coarse = e -> (CanonicalOrder.hash(e) & 0x7) << 60
                | (CanonicalOrder.hash(e) & 0xFFF);
        for (java.util.function.ToLongFunction<Example> hash : List.<java.util.function.ToLongFunction<Example>>of(
                CanonicalOrder::hash, coarse)) {
            List<CanonicalSort.Entry> inMemory;
            try (CanonicalSort all = new CanonicalSort(Long.MAX_VALUE, TEMP, hash)) {
                inMemory = drain(all, rows);
                assertEquals(0, all.runs());
            }
            try (CanonicalSort runs = new CanonicalSort(20_000, TEMP, hash)) {
                List<CanonicalSort.Entry> external = drain(runs, rows);
                assertTrue(runs.runs() > 10, "runs " + runs.runs());
                assertEquals(inMemory.size(), external.size());
                for (int i = 0; i < external.size(); i++) {
                    Example a = inMemory.get(i).example();
                    Example b = external.get(i).example();
                    assertEquals(0, CanonicalOrder.compareValues(a, b), "position " + i + ": " + a + " vs " + b);
                    assertEquals(a.features().getClass(), b.features().getClass());
                    // the delivered position travels with the row, for messages
                    assertEquals(0, CanonicalOrder.compareValues(rows.get((int) external.get(i).row()), b));
                }
            }
        }
    }

    @Test
    void theRunFilesAreRemovedWhenTheSortCloses() {
        List<File> made = new ArrayList<>();
        Supplier<File> tracked = () -> {
            File f = TEMP.get();
            made.add(f);
            return f;
        };
        try (CanonicalSort sort = new CanonicalSort(5_000, tracked)) {
            drain(sort, hostileRows(500, 2));
            assertTrue(made.size() > 2 && made.stream().allMatch(File::exists));
        }
        assertTrue(made.stream().noneMatch(File::exists), "left behind: " + made);
    }

    @Test
    void aBlockReadBackIsTheSameBitsInEveryForm() {
        SplittableRandom r = new SplittableRandom(3);
        DMatrixRMaj dense = new DMatrixRMaj(5, 7);
        for (int i = 0; i < dense.data.length; i++) {
            dense.data[i] = r.nextGaussian() * 1e9;
        }
        dense.data[3] = -0.0;
        FMatrixRMaj narrow = new FMatrixRMaj(5, 7);
        for (int i = 0; i < narrow.data.length; i++) {
            narrow.data[i] = (float) dense.data[i];
        }
        DMatrixSparseCSC sparse = new DMatrixSparseCSC(9, 7, 4);
        sparse.col_idx = new int[] {0, 1, 1, 3, 3, 3, 4, 4};
        sparse.nz_rows = new int[] {2, 0, 8, 5};
        sparse.nz_values = new double[] {1.5, -2, 1e-300, 7};
        sparse.nz_length = 4;
        FMatrixSparseCSC narrowSparse = new FMatrixSparseCSC(9, 7, 4);
        narrowSparse.col_idx = sparse.col_idx.clone();
        narrowSparse.nz_rows = sparse.nz_rows.clone();
        narrowSparse.nz_values = new float[] {1.5f, -2f, 1e-30f, -0.0f};
        narrowSparse.nz_length = 4;
        double[] w = {0.5, 1, 2, 0, 1, 3, 1};
        for (Matrix x : List.<Matrix>of(dense, narrow, sparse, narrowSparse)) {
            for (double[] weights : Arrays.asList(w, null)) {
                Matrix y = x instanceof FMatrixRMaj || x instanceof FMatrixSparseCSC ? narrow : dense;
                ByteBuffer buffer = ByteBuffer.allocate(BlockCodec.encodedBytes(x, y, weights) + 3);
                buffer.put(new byte[3]); // not at the buffer's start
                BlockCodec.encode(x, y, weights, buffer);
                assertEquals(buffer.capacity(), buffer.position());
                buffer.flip().position(3);
                BlockCodec.Decoded d = BlockCodec.decode(buffer, "test block");
                assertEquals(x.getClass(), d.x().getClass());
                assertTrue(sameBits(x, d.x()) && sameBits(y, d.y()), x.getClass().getSimpleName());
                if (weights == null) {
                    assertNull(d.weights());
                } else {
                    assertArrayEquals(weights, d.weights());
                }
            }
        }
        ByteBuffer buffer = ByteBuffer.allocate(BlockCodec.encodedBytes(dense, dense, w));
        BlockCodec.encode(dense, dense, w, buffer);
        buffer.put(100, (byte) (buffer.get(100) ^ 1));
        buffer.flip();
        IllegalStateException damaged = assertThrows(IllegalStateException.class,
                () -> BlockCodec.decode(buffer, "block 3 of file f"));
        assertTrue(damaged.getMessage().contains("block 3 of file f is damaged"), damaged.getMessage());
    }

    private static boolean sameBits(Matrix a, Matrix b) {
        if (a instanceof DMatrixSparseCSC) {
            DMatrixSparseCSC s = (DMatrixSparseCSC) a;
            DMatrixSparseCSC t = (DMatrixSparseCSC) b;
            return Arrays.equals(Arrays.copyOf(s.col_idx, s.numCols + 1), t.col_idx)
                    && Arrays.equals(Arrays.copyOf(s.nz_rows, s.nz_length), Arrays.copyOf(t.nz_rows, t.nz_length))
                    && Arrays.equals(Arrays.copyOf(s.nz_values, s.nz_length), Arrays.copyOf(t.nz_values, t.nz_length));
        }
        if (a instanceof FMatrixSparseCSC) {
            FMatrixSparseCSC s = (FMatrixSparseCSC) a;
            FMatrixSparseCSC t = (FMatrixSparseCSC) b;
            return Arrays.equals(Arrays.copyOf(s.col_idx, s.numCols + 1), t.col_idx)
                    && Arrays.equals(Arrays.copyOf(s.nz_rows, s.nz_length), Arrays.copyOf(t.nz_rows, t.nz_length))
                    && Arrays.equals(Arrays.copyOf(s.nz_values, s.nz_length), Arrays.copyOf(t.nz_values, t.nz_length));
        }
        if (a instanceof FMatrixRMaj) {
            return Arrays.equals(((FMatrixRMaj) a).data, ((FMatrixRMaj) b).data);
        }
        return Arrays.equals(((DMatrixRMaj) a).data, ((DMatrixRMaj) b).data);
    }

    private static final NetworkSpec SPEC = NetworkSpec.builder().input(6).dense(5, Activation.TANH)
            .dense(3, Activation.SOFTMAX).build();

    private static JavaRDD<Example> data() {
        return sc.parallelize(hostileRows(2_000, 4), 3).repartition(3);
    }

    /** {@code run} with the packed blocks' memory set to {@code bytes} ({@code null}: the default) for its jobs. */
    private static <T> T withStorageMemory(String bytes, Supplier<T> run) {
        return io.sparkprop.testutil.SparkTestSupport.withLocalProperty(sc, PackedData.STORAGE_MEMORY_KEY, bytes, run);
    }

    private static double[] fit(MlpSettings s, String storageMemory) {
        return withStorageMemory(storageMemory, () -> new Trainer(SPEC, s).fit(data()).parameters().toFlat());
    }

    @Test
    void blocksOnDiskGiveTheBitsOfBlocksInMemory() {
        MlpSettings sync = new Trainer(SPEC).setOptimizer(Optimizer.adam(0.01)).setBatchSize(64).setBlockSize(16)
                .setMaxEpochs(2).setTol(0).setSeed(5).settings();
        for (MlpSettings s : List.of(sync, sync.toBuilder().localSteps(4).build(),
                sync.toBuilder().precision(Precision.FLOAT32).build(),
                sync.toBuilder().sparseThreshold(0.5).dropout(0.2).build(),
                sync.toBuilder().precision(Precision.FLOAT32).sparseThreshold(0.5).build())) {
            double[] inMemory = fit(s, null);
            assertArrayEquals(inMemory, fit(s, "0"), "every block on disk: " + s);
            assertArrayEquals(inMemory, fit(s, "20k"), "some blocks in memory, the rest on disk: " + s);
        }
    }

    @Test
    void thePackedDataSaysWhereItsBlocksAre() {
        NetworkSpec spec = SPEC;
        long[] memoryAndDisk = withStorageMemory("20k", () -> {
            try (PackedData packed = PackedData.pack(sc, data(), spec, 16, Precision.FLOAT64, 0.0, "training", null,
                    null)) {
                Parameters at = Parameters.initialise(spec, 1);
                HeldOutLoss.of(packed, at, io.sparkprop.linalg.GemmChoice.decide(io.sparkprop.linalg.GemmBackend.AUTO));
                return new long[] {packed.memoryBytes(), packed.diskBytes(), packed.diskBytesRead(),
                    packed.payloadBytes()};
            }
        });
        assertTrue(memoryAndDisk[0] > 0 && memoryAndDisk[0] < memoryAndDisk[3], Arrays.toString(memoryAndDisk));
        assertTrue(memoryAndDisk[1] > 0, Arrays.toString(memoryAndDisk));
        assertEquals(memoryAndDisk[1], memoryAndDisk[2], "one pass over the data reads every block on disk once");
    }

    /** The block manager's files of RDD blocks on this (local) executor. */
    private static List<File> rddFiles() {
        List<File> found = new ArrayList<>();
        for (File dir : SparkEnv.get().blockManager().diskBlockManager().localDirs()) {
            collect(dir, found);
        }
        return found;
    }

    private static void collect(File dir, List<File> found) {
        File[] files = dir.listFiles();
        for (File f : files == null ? new File[0] : files) {
            if (f.isDirectory()) {
                collect(f, found);
            } else if (f.getName().startsWith("rdd_")) {
                found.add(f);
            }
        }
    }

    @Test
    void noFileIsLeftBehindWhenTheFitEndsWellOrBadly() throws Exception {
        List<File> before = rddFiles();
        MlpSettings s = new Trainer(SPEC).setOptimizer(Optimizer.adam(0.01)).setBatchSize(64).setBlockSize(16)
                .setMaxEpochs(2).setTol(0).settings();
        int[] during = {0};
        withStorageMemory("0", () -> new Trainer(SPEC, s).setEpochListener((r, p) -> {
            during[0] = rddFiles().size();
            return true;
        }).fit(data()));
        assertTrue(during[0] > before.size(), "the blocks were on disk during the fit: " + during[0]);
        assertEquals(before, rddFiles(), "after success");

        // a fit that fails after packing: here its epoch listener throws
        assertThrows(IllegalStateException.class, () -> withStorageMemory("0", () -> new Trainer(SPEC, s)
                .setEpochListener((r, p) -> {
                    throw new IllegalStateException("the listener failed");
                }).fit(data())));
        assertEquals(before, rddFiles(), "after failure");

        // a fit cancelled from another thread while it trains
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread fit = new Thread(() -> {
            sc.setJobGroup("out-of-core-cancel", "cancelled fit", true);
            try {
                withStorageMemory("0", () -> new Trainer(SPEC, s.toBuilder().maxEpochs(10_000).build()).fit(data()));
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        fit.start();
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (before.containsAll(rddFiles()) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        // cancelJobGroup cancels the jobs running at that moment; the driver works between a fit's jobs
        while (fit.isAlive() && System.nanoTime() < deadline) {
            sc.cancelJobGroup("out-of-core-cancel");
            fit.join(50);
        }
        assertTrue(failure.get() != null, "the fit was cancelled");
        assertEquals(before, rddFiles(), "after cancellation");
    }

    private static final java.util.concurrent.atomic.AtomicLong LATE_TASK_SPINS_UNTIL =
            new java.util.concurrent.atomic.AtomicLong();

    @Test
    void aPackingTaskThatOutlivesItsCancelledJobLeavesNoFile() throws Exception {
        List<File> before = rddFiles();
        // partition 1 reads its rows, then spins for 3 s deaf to the kill that comes meanwhile and packs them:
        // its chunks reach the block manager after the job has returned to the driver as cancelled
        JavaRDD<Example> late = data().mapPartitionsWithIndex((p, it) -> {
            List<Example> rows = new ArrayList<>();
            it.forEachRemaining(rows::add);
            if (p == 1) {
                long until = System.nanoTime() + 3_000_000_000L;
                LATE_TASK_SPINS_UNTIL.set(until);
                while (System.nanoTime() < until) {
                    Thread.onSpinWait();
                }
            }
            return rows.iterator();
        }, true);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread packing = new Thread(() -> {
            sc.setJobGroup("late-packing", "cancelled packing", false); // the default: tasks are not interrupted
            try {
                withStorageMemory("0", () -> PackedData.pack(sc, late, SPEC, 16, Precision.FLOAT64, 0.0, "training",
                        null, null)).close();
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        packing.start();
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (before.containsAll(rddFiles()) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        sc.cancelJobGroup("late-packing");
        packing.join(60_000);
        assertTrue(failure.get() != null, "the packing was cancelled");
        // look once the late task has surely written its chunks (local mode: the task runs in this JVM)
        while (System.nanoTime() < LATE_TASK_SPINS_UNTIL.get() + 1_000_000_000L) {
            Thread.sleep(50);
        }
        assertEquals(before, rddFiles(), "after the late task ended");
    }

    @Test
    void aDamagedBlockNamesItsFile() throws IOException {
        List<File> before = rddFiles();
        try (PackedData packed = withStorageMemory("0", () -> PackedData.pack(sc, data(), SPEC, 16,
                Precision.FLOAT64, 0.0, "training", null, null))) {
            List<File> chunks = new ArrayList<>(rddFiles());
            chunks.removeAll(before);
            assertTrue(!chunks.isEmpty());
            File victim = chunks.get(0);
            try (RandomAccessFile f = new RandomAccessFile(victim, "rw")) {
                f.seek(200);
                int b = f.read();
                f.seek(200);
                f.write(b ^ 0x10);
            }
            Parameters at = Parameters.initialise(SPEC, 1);
            Exception e = assertThrows(Exception.class,
                    () -> HeldOutLoss.of(packed, at, io.sparkprop.linalg.GemmChoice.decide(io.sparkprop.linalg.GemmBackend.AUTO)));
            String message = String.valueOf(e.getMessage());
            assertTrue(message.contains(victim.toString()) && message.contains("damaged"), message);
        }
    }

    /**
     * {@code rows} packed as partition 0 in a task, with {@code budget} of storage memory (the budget is the task's),
     * the blocks that do not fit under RDD id {@code id}; the shard comes back to the driver, the executor here.
     */
    private static Shard packedInATask(String budget, List<Example> rows, int id) {
        return withStorageMemory(budget, () -> sc.parallelize(Collections.singletonList(0), 1)
                .map(p -> new ShardPacker(6, 3, 7).pack(0, rows.iterator(), new ShardPacker.Storage(id, 1)))
                .collect().get(0));
    }

    @Test
    void aShardReadsItsBlocksInAnyOrderWithReadAhead() {
        List<Example> rows = hostileRows(300, 6);
        Shard inMemory = new ShardPacker(6, 3, 7).pack(0, rows.iterator());
        JavaRDD<Object> onDisk = sc.emptyRDD();
        int id = onDisk.id();
        Shard spilled = packedInATask("0", rows, id);
        assertEquals(inMemory.numBlocks(), spilled.numBlocks());
        assertEquals(inMemory.count(), spilled.count());
        assertEquals(inMemory.payloadBytes(), spilled.payloadBytes());
        assertTrue(spilled.diskBytes() > 0 && spilled.memoryBytes() == 0);
        int[] order = new int[inMemory.numBlocks()];
        for (int k = 0; k < order.length; k++) {
            order[k] = (k * 5) % order.length;
        }
        try (Shard.Blocks a = inMemory.read(order, 2, order.length); Shard.Blocks b = spilled.read(order, 2,
                order.length)) {
            while (a.hasNext()) {
                Shard.Block x = a.next();
                Shard.Block y = b.next();
                assertEquals(x.index(), y.index());
                assertTrue(sameBits(x.features(), y.features()) && sameBits(x.targets(), y.targets()));
                assertArrayEquals(x.weights(), y.weights());
            }
            assertTrue(!b.hasNext() && b.diskBytes() > 0);
        } finally {
            onDisk.unpersist(true);
        }
    }

    @Test
    void aModelAndBlocksTooLargeForTheHeapAreRefusedBeforeAnyWork() {
        // 400M parameters: six copies are 19 GB, more than any test heap
        NetworkSpec huge = NetworkSpec.builder().input(6).dense(20_000, Activation.TANH).dense(20_000, Activation.TANH)
                .dense(3, Activation.SOFTMAX).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PackedData.pack(sc, data(),
                huge, 16, Precision.FLOAT64, 0.0, "training", null, null));
        assertTrue(e.getMessage().contains("more than the executor's heap") && e.getMessage().contains("blockSize")
                && e.getMessage().contains("spark.driver.memory"), e.getMessage());
    }

    @Test
    void aPartitionPackedAgainWithAnotherBudgetReadsItsOwnBlocks() {
        // a task re-run on the executor that ran it (after a failure, or a shard Spark dropped) writes the same
        // chunk ids again, with other blocks in them when the budget has changed in between
        List<Example> rows = hostileRows(400, 7);
        Shard inMemory = new ShardPacker(6, 3, 7).pack(0, rows.iterator());
        JavaRDD<Object> onDisk = sc.emptyRDD();
        int id = onDisk.id();
        try {
            for (String budget : List.of("0", "6k")) {
                Shard again = packedInATask(budget, rows, id);
                assertTrue(again.diskBytes() > 0, budget);
                for (int k = 0; k < again.numBlocks(); k++) {
                    assertTrue(sameBits(inMemory.features(k), again.features(k))
                            && sameBits(inMemory.targets(k), again.targets(k)), "block " + k + " at budget " + budget);
                }
            }
        } finally {
            onDisk.unpersist(true);
        }
    }

    @Test
    void aStorageMemoryThatIsNoSizeIsRefusedNamingTheSetting() {
        for (String bad : List.of("lots", "-5m")) {
            Exception e = assertThrows(Exception.class, () -> withStorageMemory(bad, () -> PackedData.pack(sc, data(),
                    SPEC, 16, Precision.FLOAT64, 0.0, "training", null, null)));
            String message = String.valueOf(e.getMessage());
            assertTrue(message.contains(PackedData.STORAGE_MEMORY_KEY) && message.contains("'" + bad + "'"), message);
        }
    }
}
