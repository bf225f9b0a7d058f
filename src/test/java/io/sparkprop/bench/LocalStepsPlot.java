package io.sparkprop.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import javax.imageio.ImageIO;

/** Test accuracy against wall time, one line per {@code localSteps}: a PNG (headless AWT) and a CSV beside it. */
final class LocalStepsPlot {
    private static final int WIDTH = 900;
    private static final int HEIGHT = 560;
    private static final int MARGIN = 70;
    private static final Color[] COLOURS = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c),
        new Color(0xd62728), new Color(0x9467bd)};

    private LocalStepsPlot() {
    }

    static void write(Path png, List<MlpBenchMain.Curve> curves) {
        System.setProperty("java.awt.headless", "true");
        double maxSeconds = 1;
        double minAccuracy = 1;
        for (MlpBenchMain.Curve c : curves) {
            for (int e = 0; e < c.done; e++) {
                maxSeconds = Math.max(maxSeconds, c.seconds[e]);
                minAccuracy = Math.min(minAccuracy, c.accuracy[e]);
            }
        }
        double lowAccuracy = Math.floor(Math.min(minAccuracy, 0.85) * 50) / 50;
        BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, WIDTH, HEIGHT);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        int plotW = WIDTH - 2 * MARGIN;
        int plotH = HEIGHT - 2 * MARGIN;
        g.setColor(Color.LIGHT_GRAY);
        for (double a = lowAccuracy; a <= 0.9201; a += 0.01) {
            int y = MARGIN + plotH - (int) ((a - lowAccuracy) / (0.92 - lowAccuracy) * plotH);
            g.drawLine(MARGIN, y, MARGIN + plotW, y);
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format(Locale.ROOT, "%.2f", a), MARGIN - 40, y + 4);
            g.setColor(Color.LIGHT_GRAY);
        }
        int ticks = 8;
        for (int i = 0; i <= ticks; i++) {
            int x = MARGIN + i * plotW / ticks;
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format(Locale.ROOT, "%.0f", maxSeconds * i / ticks), x - 8, MARGIN + plotH + 20);
        }
        g.drawString("wall time of the fit (s), test-set passes excluded", MARGIN + plotW / 2 - 150, HEIGHT - 20);
        g.drawString("Fashion-MNIST 784-256-128-10: test accuracy after each epoch, by localSteps", MARGIN, MARGIN - 25);
        g.drawRect(MARGIN, MARGIN, plotW, plotH);
        g.setStroke(new BasicStroke(2f));
        StringBuilder csv = new StringBuilder("local_steps,epoch,seconds,test_accuracy\n");
        for (int i = 0; i < curves.size(); i++) {
            MlpBenchMain.Curve c = curves.get(i);
            g.setColor(COLOURS[i % COLOURS.length]);
            int px = MARGIN;
            int py = MARGIN + plotH;
            for (int e = 0; e < c.done; e++) {
                int x = MARGIN + (int) (c.seconds[e] / maxSeconds * plotW);
                int y = MARGIN + plotH - (int) ((Math.max(c.accuracy[e], lowAccuracy) - lowAccuracy)
                        / (0.92 - lowAccuracy) * plotH);
                if (e > 0) {
                    g.drawLine(px, py, x, y);
                }
                g.fillOval(x - 3, y - 3, 6, 6);
                px = x;
                py = y;
                csv.append(String.format(Locale.ROOT, "%d,%d,%.3f,%.4f%n", c.localSteps, e + 1, c.seconds[e],
                        c.accuracy[e]));
            }
            g.drawString("localSteps " + c.localSteps, MARGIN + plotW - 120, MARGIN + plotH - 20 - 18 * i);
        }
        g.dispose();
        try {
            Files.createDirectories(png.getParent());
            ImageIO.write(image, "png", png.toFile());
            Files.writeString(png.resolveSibling(png.getFileName().toString().replace(".png", ".csv")), csv);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
