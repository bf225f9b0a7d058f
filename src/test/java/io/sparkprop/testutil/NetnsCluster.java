package io.sparkprop.testutil;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A standalone Spark cluster of several hosts on this machine: each host a network namespace with one
 * link ({@code eth0}, a veth pair) into a bridge of a switch namespace, every link shaped to {@code rate} in
 * both directions with a token bucket ({@code tc tbf}); the master on the driver's host, one worker of one
 * core per worker host. Needs root and iproute2. Everything it makes is named after this JVM's pid and is
 * removed by {@link #close} (processes by their handle, then the namespaces, which take their links along),
 * also from a shutdown hook.
 *
 * <p>Only bandwidth is shaped: {@code netem}, which would add latency, needs a kernel module not every kernel
 * has, so a link's latency is the veth's own (tens of microseconds). The addresses are {@code 10.213.s.0/24} inside namespaces of this run's own; no traffic
 * leaves the machine.
 *
 * <p>Bytes crossing a host's link are read from {@code /proc/<pid>/net/dev} of a process inside its namespace
 * ({@link #linkBytes}).
 */
public final class NetnsCluster implements AutoCloseable {
    /** The driver's host: index 0; workers 1..n. */
    public static final int DRIVER = 0;

    private final String prefix;
    private final String subnet;
    private final int workers;
    private final Path dir;
    private final List<String> namespaces = new ArrayList<>();
    /** Per host, a process living in its namespace (the master for the driver's host, each worker). */
    private final Process[] hostProcess;
    private final List<Process> processes = new ArrayList<>();
    private final Thread hook = new Thread(this::closeQuietly, "netns-cluster-teardown");
    private boolean closed;

    private NetnsCluster(int workers) throws IOException {
        long pid = ProcessHandle.current().pid();
        this.prefix = "sp" + pid % 100_000;
        this.subnet = "10.213." + (pid % 250 + 1);
        this.workers = workers;
        this.dir = Files.createTempDirectory("sparkprop-netns");
        this.hostProcess = new Process[workers + 1];
    }

    /**
     * Builds the namespaces and links, starts the master and {@code workers} workers of one core and
     * {@code workerMemory} each, and waits until all have registered.
     *
     * @param rate       a link's rate in {@code tc}'s units, e.g. {@code 1gbit}
     * @param sparkHome  a directory whose {@code jars/} hold Spark's jars (DESIGN §7)
     */
    public static NetnsCluster start(int workers, String rate, String sparkHome, String workerMemory)
            throws Exception {
        NetnsCluster c = new NetnsCluster(workers);
        Runtime.getRuntime().addShutdownHook(c.hook);
        try {
            c.network(rate);
            String master = c.address(DRIVER);
            c.hostProcess[DRIVER] = c.launch(DRIVER, "master", sparkHome, "org.apache.spark.deploy.master.Master",
                    "--host", master, "--port", "7077", "--webui-port", "8080");
            c.awaitPort(master, 7077, c.hostProcess[DRIVER]);
            for (int w = 1; w <= workers; w++) {
                c.hostProcess[w] = c.launch(w, "worker" + w, sparkHome, "org.apache.spark.deploy.worker.Worker",
                        c.masterUrl(), "--host", c.address(w), "--cores", "1", "--memory", workerMemory,
                        "--work-dir", c.dir.resolve("work" + w).toString(), "--webui-port", "8081");
            }
            c.awaitWorkers();
            return c;
        } catch (Exception e) {
            c.close();
            throw e;
        }
    }

    /** {@code spark://<driver host>:7077}. */
    public String masterUrl() {
        return "spark://" + address(DRIVER) + ":7077";
    }

    /** The address of host {@code h} (0: the driver's, 1..n: the workers'). */
    public String address(int h) {
        return subnet + "." + (10 + h);
    }

    /** The namespace of host {@code h}. */
    public String namespace(int h) {
        return prefix + (h == DRIVER ? "-d" : "-w" + h);
    }

    public int workers() {
        return workers;
    }

    /** The pid of a process inside host {@code h}'s namespace, for {@link #linkBytes(long)} in another JVM. */
    public long hostPid(int h) {
        return hostProcess[h].pid();
    }

    /** Bytes host {@code h}'s link has received and sent so far: {@code {rx, tx}}. */
    public long[] linkBytes(int h) throws IOException {
        return linkBytes(hostPid(h));
    }

    /** Bytes the {@code eth0} of the namespace of process {@code pid} has received and sent: {@code {rx, tx}}. */
    public static long[] linkBytes(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "net", "dev"))) {
            String t = line.trim();
            if (t.startsWith("eth0:")) {
                String[] f = t.substring(5).trim().split("\\s+");
                return new long[] {Long.parseLong(f[0]), Long.parseLong(f[8])};
            }
        }
        throw new IOException("no eth0 in the namespace of process " + pid);
    }

    /**
     * A command run inside host {@code h}'s namespace: {@code ip netns exec <ns> <command>}; the process keeps
     * the pid of {@code command}.
     */
    public List<String> inHost(int h, List<String> command) {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", namespace(h)));
        c.addAll(command);
        return c;
    }

    /** Starts {@code command} in host {@code h}'s namespace, its output to {@code <name>.log}; stopped by {@link #close}. */
    public Process start(int h, String name, List<String> command, Map<String, String> env) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(inHost(h, command));
        pb.environment().putAll(env);
        pb.environment().put("SPARK_LOCAL_IP", address(h));
        pb.redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile());
        Process p = pb.start();
        synchronized (processes) {
            processes.add(p);
        }
        return p;
    }

    /** Where the processes' logs go. */
    public Path logs() {
        return dir;
    }

    private Process launch(int h, String name, String home, String main, String... args) throws IOException {
        return start(h, name, ChildJvm.command("512m", home + File.separator + "jars" + File.separator + "*", main,
                args), Map.of("SPARK_HOME", home, "SPARK_SCALA_VERSION", "2.13", "OPENBLAS_NUM_THREADS", "1"));
    }

    private void network(String rate) throws IOException, InterruptedException {
        String sw = prefix + "-sw";
        ip("netns", "add", sw);
        namespaces.add(sw);
        ip("-n", sw, "link", "add", "br0", "type", "bridge");
        ip("-n", sw, "link", "set", "br0", "up");
        for (int h = 0; h <= workers; h++) {
            String ns = namespace(h);
            ip("netns", "add", ns);
            namespaces.add(ns);
            String port = "v" + h;
            ip("-n", sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns);
            ip("-n", sw, "link", "set", port, "master", "br0", "up");
            ip("-n", ns, "addr", "add", address(h) + "/24", "dev", "eth0");
            ip("-n", ns, "link", "set", "eth0", "up");
            ip("-n", ns, "link", "set", "lo", "up");
            // both directions of the link: the host's egress, and the switch port's egress into the host
            run(List.of("ip", "netns", "exec", ns, "tc", "qdisc", "replace", "dev", "eth0", "root", "tbf", "rate", rate,
                    "burst", "256kb", "latency", "50ms"));
            run(List.of("ip", "netns", "exec", sw, "tc", "qdisc", "replace", "dev", port, "root", "tbf", "rate", rate,
                    "burst", "256kb", "latency", "50ms"));
        }
    }

    private void awaitWorkers() throws Exception {
        Path masterLog = dir.resolve("master.log");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            String log = Files.exists(masterLog) ? Files.readString(masterLog, StandardCharsets.UTF_8) : "";
            long registered = log.lines().filter(l -> l.contains("Registering worker")).count();
            if (registered >= workers) {
                return;
            }
            for (int h = 0; h <= workers; h++) {
                if (!hostProcess[h].isAlive()) {
                    throw new IllegalStateException("host " + h + "'s Spark process ended; see " + dir);
                }
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException(workers + " workers did not register within 120 s; see " + dir);
    }

    private void awaitPort(String host, int port, Process owner) throws Exception {
        // this JVM is outside the namespaces: probe from inside the driver's host with bash's /dev/tcp
        List<String> probe = inHost(DRIVER, List.of("bash", "-c", "exec 3<>/dev/tcp/" + host + "/" + port));
        for (int i = 0; i < 600; i++) {
            if (!owner.isAlive()) {
                throw new IllegalStateException("the master ended before it listened on " + host + ":" + port
                        + "; see " + dir);
            }
            Process p = new ProcessBuilder(probe).redirectErrorStream(true).redirectOutput(
                    ProcessBuilder.Redirect.DISCARD).start();
            if (p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0) {
                return;
            }
            p.destroyForcibly();
            Thread.sleep(200);
        }
        throw new IllegalStateException("the master did not listen on " + host + ":" + port + "; see " + dir);
    }

    private static void ip(String... args) throws IOException, InterruptedException {
        List<String> c = new ArrayList<>(List.of("ip"));
        c.addAll(Arrays.asList(args));
        run(c);
    }

    private static void run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + " failed: " + out.trim());
        }
    }

    private void closeQuietly() {
        try {
            close();
        } catch (Exception e) {
            // the shutdown hook has nowhere to report to
        }
    }

    /** Stops every process it started (by its handle), then removes the namespaces and their links. */
    @Override
    public synchronized void close() throws InterruptedException {
        if (closed) {
            return;
        }
        closed = true;
        List<Process> all;
        synchronized (processes) {
            all = new ArrayList<>(processes);
        }
        for (int i = all.size() - 1; i >= 0; i--) {
            all.get(i).destroy();
        }
        for (Process p : all) {
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        for (int i = namespaces.size() - 1; i >= 0; i--) {
            try {
                ip("netns", "del", namespaces.get(i));
            } catch (IOException e) {
                // already gone
            }
        }
        if (Thread.currentThread() != hook) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs or ran
            }
        }
    }
}
