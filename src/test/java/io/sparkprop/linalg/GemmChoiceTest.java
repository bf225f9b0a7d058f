package io.sparkprop.linalg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The driver's choice of GEMM, as an executor checks it. */
class GemmChoiceTest {
    @Test
    void anExecutorWithAnotherBackendRefusesNamingBoth() {
        // the driver resolved netlib to native code; this "executor" has EJML only
        GemmChoice driver = GemmChoice.of(GemmBackend.EJML, "netlib-native", "library x; cpu y");
        IllegalStateException e = assertThrows(IllegalStateException.class, driver::gemm);
        assertTrue(e.getMessage().startsWith("this executor's GEMM backend is ejml, the driver chose netlib-native: "
                + "the same data and seed would give other bits here."), e.getMessage());
    }

    @Test
    void theChoiceResolvesHereToWhatItNames() {
        GemmChoice auto = GemmChoice.decide(GemmBackend.AUTO);
        assertEquals(GemmBackend.AUTO.gemm().name(), auto.gemm().name());
        GemmChoice ejml = GemmChoice.decide(GemmBackend.EJML);
        assertEquals("ejml (pure Java)", ejml.describe());
        assertNull(ejml.checkOnExecutor("test"), "pure Java is the same on every JVM");
    }

    @Test
    void anotherFingerprintIsReportedOncePerKey() {
        GemmChoice netlib = GemmChoice.decide(GemmBackend.NETLIB);
        assertNull(netlib.checkOnExecutor("same machine"), "this JVM matches itself");
        GemmChoice elsewhere = GemmChoice.of(GemmBackend.NETLIB, netlib.name(), "library other; cpu other");
        String here = elsewhere.checkOnExecutor("run 1");
        assertEquals(netlib.fingerprint(), here);
        assertNull(elsewhere.checkOnExecutor("run 1"), "reported once");
        assertEquals(here, elsewhere.checkOnExecutor("run 2"));
    }

    /** The fingerprint must be the same in every JVM of one machine: netlib's shim has a random temporary name. */
    @Test
    void theFingerprintLeavesOutNetlibsTemporaryShim() {
        assertTrue(GemmChoice.isBlasLibrary("libopenblasp-r0.3.21.so"));
        assertTrue(GemmChoice.isBlasLibrary("libblas.so.3"));
        assertTrue(!GemmChoice.isBlasLibrary("libnetlibblasjni.so10214579606470447060"));
        assertTrue(!GemmChoice.decide(GemmBackend.AUTO).fingerprint().contains("netlib"),
                GemmChoice.decide(GemmBackend.AUTO).fingerprint());
    }
}
