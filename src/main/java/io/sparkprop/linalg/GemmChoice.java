package io.sparkprop.linalg;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import io.sparkprop.util.Internal;

/**
 * The GEMM a fit uses, decided once on the driver and sent to the executors with the parameters.
 * Different BLAS implementations (native OpenBLAS, the Vector API, plain Java, EJML) sum in different
 * orders, so an executor that resolved {@link GemmBackend#AUTO} on its own could give other bits than
 * its neighbours — and a task re-run on such an executor would silently break the promise that the
 * same seed and data give the same model. An executor whose backend differs from the driver's
 * fails its task, naming both.
 *
 * <p>Within one backend the bits can still depend on the machine: OpenBLAS picks its kernels by CPU
 * at load time (or by {@code OPENBLAS_CORETYPE}). That is recorded as the {@link #fingerprint()} (the
 * BLAS library loaded, {@code OPENBLAS_CORETYPE}, the CPU model and its widest vector extension); an
 * executor with another fingerprint is allowed, and reported through {@link #checkOnExecutor}, so
 * that a summary can say whether the bits are portable.
 */
@Internal
public final class GemmChoice implements Serializable {
    private static final long serialVersionUID = 1L;
    /** Executor fingerprints already reported, per reporting key (e.g. an accumulator's id), once a JVM. */
    private static final Set<String> REPORTED = ConcurrentHashMap.newKeySet();
    /** This JVM's fingerprint per backend name: the libraries and the CPU do not change while it runs. */
    private static final java.util.Map<String, String> LOCAL = new ConcurrentHashMap<>();

    private final GemmBackend backend;
    private final String name;
    private final String fingerprint;

    private GemmChoice(GemmBackend backend, String name, String fingerprint) {
        this.backend = backend;
        this.name = name;
        this.fingerprint = fingerprint;
    }

    /** A choice as a driver elsewhere might have made it, for tests of the executor side. */
    static GemmChoice of(GemmBackend backend, String name, String fingerprint) {
        return new GemmChoice(backend, name, fingerprint);
    }

    /** Resolves {@code requested} in this (the driver's) JVM. */
    public static GemmChoice decide(GemmBackend requested) {
        Gemm gemm = requested.gemm();
        GemmBackend concrete = gemm instanceof EjmlGemm ? GemmBackend.EJML : GemmBackend.NETLIB;
        return new GemmChoice(concrete, gemm.name(), localFingerprint(gemm));
    }

    /** The backend's short name, e.g. {@code netlib-native} or {@code ejml}. */
    public String name() {
        return name;
    }

    /** What else decides the bits within the backend: library, OpenBLAS core type, CPU. */
    public String fingerprint() {
        return fingerprint;
    }

    /** {@code name (fingerprint)}, for summaries and logs. */
    public String describe() {
        return name + " (" + fingerprint + ")";
    }

    /**
     * The GEMM on this executor: the driver's backend, or an {@link IllegalStateException} naming both.
     * Use {@link #checkOnExecutor} to also learn whether this machine's fingerprint differs.
     */
    public Gemm gemm() {
        Gemm gemm = backend.gemm();
        if (!gemm.name().equals(name)) {
            throw new IllegalStateException(String.format(Locale.ROOT,
                    "this executor's GEMM backend is %s, the driver chose %s: the same data and seed would give other "
                            + "bits here. Provide the driver's BLAS on every node (e.g. the system OpenBLAS), or set "
                            + "the GEMM backend to ejml, which is the same everywhere", gemm.name(), name));
        }
        return gemm;
    }

    /**
     * This executor's fingerprint if it differs from the driver's and was not yet reported under
     * {@code key} in this JVM, else {@code null}.
     */
    public String checkOnExecutor(String key) {
        if (backend == GemmBackend.EJML) {
            return null; // pure Java: the same bits on every JVM
        }
        String here = localFingerprint(backend.gemm());
        if (here.equals(fingerprint) || !REPORTED.add(key + "\u0000" + here)) {
            return null;
        }
        return here;
    }

    @Override
    public String toString() {
        return describe();
    }

    private static String localFingerprint(Gemm gemm) {
        return LOCAL.computeIfAbsent(gemm.name(), n -> fingerprint(gemm));
    }

    /** The BLAS library mapped into this process, {@code OPENBLAS_CORETYPE} and the CPU; "pure Java" for EJML. */
    static String fingerprint(Gemm gemm) {
        if (gemm instanceof EjmlGemm) {
            return "pure Java";
        }
        StringBuilder sb = new StringBuilder();
        if (gemm.name().equals("netlib-native")) {
            sb.append("library ").append(String.join(",", mappedBlasLibraries())).append("; ");
            String core = System.getenv("OPENBLAS_CORETYPE");
            sb.append("OPENBLAS_CORETYPE ").append(core == null ? "unset" : core).append("; ");
        }
        sb.append("cpu ").append(cpu());
        return sb.toString();
    }

    /** The shared libraries of this process whose file name contains "blas" (Linux; "unknown" elsewhere). */
    private static Set<String> mappedBlasLibraries() {
        Set<String> libraries = new LinkedHashSet<>();
        Path maps = Paths.get("/proc/self/maps");
        if (Files.isReadable(maps)) {
            try (Stream<String> lines = Files.lines(maps)) {
                lines.map(l -> l.substring(l.lastIndexOf(' ') + 1))
                        .filter(p -> p.startsWith("/") && isBlasLibrary(Paths.get(p).getFileName().toString()))
                        .forEach(libraries::add);
            } catch (IOException | RuntimeException e) {
                // the fingerprint is informative only
            }
        }
        if (libraries.isEmpty()) {
            libraries.add("unknown");
        }
        return libraries;
    }

    /**
     * A BLAS library's file name: contains "blas", but is not netlib's JNI shim, which is extracted to a
     * temporary file of a random name in every JVM and says nothing about the arithmetic.
     */
    static boolean isBlasLibrary(String fileName) {
        return fileName.contains("blas") && !fileName.contains("netlib");
    }

    /** The CPU model and its widest x86 vector extension, from {@code /proc/cpuinfo} (Linux). */
    private static String cpu() {
        Path info = Paths.get("/proc/cpuinfo");
        String model = System.getProperty("os.arch");
        String vector = "";
        if (Files.isReadable(info)) {
            try (Stream<String> lines = Files.lines(info)) {
                for (String line : (Iterable<String>) lines::iterator) {
                    if (line.startsWith("model name") && model.equals(System.getProperty("os.arch"))) {
                        model = line.substring(line.indexOf(':') + 1).trim();
                    } else if (line.startsWith("flags") && vector.isEmpty()) {
                        String flags = " " + line.substring(line.indexOf(':') + 1) + " ";
                        vector = flags.contains(" avx512f ") ? "avx512" : flags.contains(" avx2 ") ? "avx2"
                                : flags.contains(" avx ") ? "avx" : "sse";
                    }
                }
            } catch (IOException | RuntimeException e) {
                // the fingerprint is informative only
            }
        }
        return vector.isEmpty() ? model : model + ", " + vector;
    }
}
