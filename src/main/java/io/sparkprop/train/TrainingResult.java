package io.sparkprop.train;

import java.io.Serializable;

import io.sparkprop.linalg.Precision;
import io.sparkprop.nn.Parameters;

/**
 * What {@link Trainer#fit} returns: the trained parameters, the history, and facts of the run.
 *
 * @param parameters         the trained weights and biases
 * @param history            per-iteration and per-epoch records
 * @param numExamples        examples trained on
 * @param weightSum          sum of their weights
 * @param numShards          shards (cached partitions) the data was packed into; see {@link Trainer#setNumShards}
 * @param blockSize          columns per packed block (the setting, capped for mini-batches; see {@link Trainer#setBatchSize})
 * @param iterationsPerEpoch parameter updates per epoch
 * @param cachedBytes        memory Spark reported for the cached shards
 * @param payloadBytes       bytes of the values in the shards (features and targets in {@code precision}, weights)
 * @param converged          whether training stopped on {@code tol} rather than {@code maxEpochs}
 * @param bestEpoch          the 0-based epoch of the lowest validation loss, or −1 without validation data;
 *                           with early stopping ({@link Trainer#setPatience}) the parameters are that epoch's
 * @param aggregation        how the partial gradients were merged (which levels ran where), in words
 * @param gemm               the GEMM backend the driver chose and its fingerprint (BLAS library, OpenBLAS core
 *                           type, CPU): every executor ran this backend
 * @param otherGemmFingerprints the fingerprints of executors whose BLAS differed in library or CPU from the
 *                           driver's (empty when all matched): then the bits are not portable to another run
 * @param precision          the format the shards and the kernel's GEMMs used ({@link MlpSettings#precision()})
 * @param memoryBytes        bytes of the values of the blocks the executors kept in memory
 * @param diskBytes          bytes of the blocks the executors kept on their local disks (0: all in memory);
 *                           see the README, "Data larger than memory"
 * @param localSteps         the local steps a round took: 1 = synchronous SGD (also when an epoch is one update), else
 *                           the {@code k} set or, with {@code localSteps = auto}, the one the trainer picked
 */
public record TrainingResult(Parameters parameters, TrainingHistory history, long numExamples, double weightSum,
                             int numShards, int blockSize, int iterationsPerEpoch, long cachedBytes,
                             long payloadBytes, boolean converged, int bestEpoch,
                             String aggregation, String gemm,
                             java.util.List<String> otherGemmFingerprints, Precision precision, long memoryBytes,
                             long diskBytes, int localSteps)
        implements Serializable {
    /** Whether every executor's GEMM matched the driver's fingerprint (the bits are those of any such run). */
    public boolean bitsPortable() {
        return otherGemmFingerprints.isEmpty();
    }
}
