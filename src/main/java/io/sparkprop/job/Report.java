package io.sparkprop.job;

import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import io.sparkprop.train.EpochRecord;
import io.sparkprop.train.IterationRecord;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The job's pictures and report: {@code loss.png} (training and validation loss per epoch),
 * {@code accuracy.png} (validation accuracy per epoch, when there is one) and {@code report.html}, a
 * self-contained page (the pictures inlined) with the final metrics and the configuration.
 */
final class Report {
    private Report() {
    }

    /** Writes the charts (when there is an epoch history) and the HTML report into {@code folder}. */
    static void write(FileSystem fs, Path folder, List<EpochRecord> epochs, List<IterationRecord> iterations,
                      Map<String, Object> metrics, Map<String, String> config, String headline) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<String[]> pictures = new ArrayList<>();
        if (epochs != null && !epochs.isEmpty()) {
            double[] x = epochs.stream().mapToDouble(e -> e.epoch() + 1).toArray();
            XYChart loss = chart("Loss per epoch", "loss");
            loss.addSeries("training", x, epochs.stream().mapToDouble(EpochRecord::loss).toArray())
                    .setMarker(SeriesMarkers.CIRCLE);
            double[] validationLoss = epochs.stream().mapToDouble(EpochRecord::validationLoss).toArray();
            if (!Double.isNaN(validationLoss[0])) {
                loss.addSeries("validation", x, validationLoss).setMarker(SeriesMarkers.DIAMOND);
            }
            pictures.add(save(fs, folder, "loss.png", loss));
            double[] accuracy = epochs.stream().mapToDouble(EpochRecord::validationAccuracy).toArray();
            if (!Double.isNaN(accuracy[0])) {
                XYChart acc = chart("Validation accuracy per epoch", "accuracy");
                acc.addSeries("validation", x, accuracy).setMarker(SeriesMarkers.DIAMOND);
                pictures.add(save(fs, folder, "accuracy.png", acc));
            }
        }
        if (iterations != null && !iterations.isEmpty()) {
            // the schedule's value at every round's first update, against the epochs done before it (updates
            // before it / updates an epoch, as the epoch's rounds applied them); XChart labels ticks of values
            // like 2e-3 with every digit of their doubles, so the steps are drawn in units of a power of ten
            long perEpoch = 0;
            double largest = 0;
            for (IterationRecord it : iterations) {
                perEpoch += it.epoch() == iterations.get(0).epoch() ? it.updates() : 0;
                largest = Math.max(largest, it.stepSize());
            }
            int exponent = largest > 0 ? (int) Math.floor(Math.log10(largest)) : 0;
            double unit = Math.pow(10, exponent);
            double[] epochsDone = new double[iterations.size()];
            double[] step = new double[iterations.size()];
            long applied = 0;
            for (int i = 0; i < step.length; i++) {
                epochsDone[i] = applied / (double) Math.max(1, perEpoch);
                step[i] = iterations.get(i).stepSize() / unit;
                applied += iterations.get(i).updates();
            }
            XYChart steps = chart("Step size per update", exponent == 0 ? "step size" : "step size (×1e" + exponent
                    + ")");
            steps.setXAxisTitle("epochs done in this fit");
            // fractional epochs: the integer pattern of the per-epoch charts would print 0.5 as "0", 0.15 as "0.2"
            steps.getStyler().setYAxisDecimalPattern("0.###").setXAxisDecimalPattern("0.##");
            steps.addSeries("step size", epochsDone, step).setMarker(SeriesMarkers.NONE);
            pictures.add(save(fs, folder, "step-size.png", steps));
        }
        StringBuilder html = new StringBuilder("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                + "<title>sparkprop report</title><style>body{font-family:sans-serif;margin:2em;max-width:60em}"
                + "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}"
                + "img{max-width:100%}</style></head><body>\n<h1>sparkprop training report</h1>\n<p>")
                .append(escape(headline)).append("</p>\n");
        for (String[] picture : pictures) {
            html.append("<h2>").append(escape(picture[0])).append("</h2>\n<img alt=\"").append(escape(picture[0]))
                    .append("\" src=\"data:image/png;base64,").append(picture[1]).append("\">\n");
        }
        html.append("<h2>Metrics</h2>\n<table>\n");
        for (Map.Entry<String, Object> e : metrics.entrySet()) {
            if (!e.getKey().equals("config")) {
                html.append("<tr><th>").append(escape(e.getKey())).append("</th><td>").append(escape(show(e.getValue())))
                        .append("</td></tr>\n");
            }
        }
        html.append("</table>\n<h2>Configuration</h2>\n<table>\n");
        for (Map.Entry<String, String> e : config.entrySet()) {
            html.append("<tr><th>").append(escape(e.getKey())).append("</th><td>").append(escape(e.getValue()))
                    .append("</td></tr>\n");
        }
        html.append("</table>\n</body></html>\n");
        try (OutputStream out = fs.create(new Path(folder, "report.html"), false)) {
            out.write(html.toString().getBytes(StandardCharsets.UTF_8));
        }
    }

    private static XYChart chart(String title, String yTitle) {
        XYChart chart = new XYChartBuilder().width(720).height(420).title(title).xAxisTitle("epoch").yAxisTitle(yTitle)
                .build();
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setLegendVisible(true);
        chart.getStyler().setXAxisDecimalPattern("0");
        return chart;
    }

    /** Writes the chart as PNG; returns its title and the PNG in base64. */
    private static String[] save(FileSystem fs, Path folder, String name, XYChart chart) throws IOException {
        byte[] png = BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
        try (OutputStream out = fs.create(new Path(folder, name), false)) {
            out.write(png);
        }
        return new String[] {chart.getTitle(), Base64.getEncoder().encodeToString(png)};
    }

    private static String show(Object value) {
        if (value instanceof Map) {
            StringBuilder sb = new StringBuilder();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
                sb.append(sb.length() == 0 ? "" : "; ").append(e.getKey()).append(' ').append(show(e.getValue()));
            }
            return sb.toString();
        }
        if (value instanceof double[]) {
            return java.util.Arrays.toString((double[]) value);
        }
        if (value instanceof long[][]) {
            return java.util.Arrays.deepToString((long[][]) value);
        }
        return String.valueOf(value);
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
