// Charts (Chart.js and its matrix plugin, served from /ui/static/vendor). Labels are drawn on
// the canvas as text, never parsed as HTML.

const { Chart } = window;
const matrix = window["chartjs-chart-matrix"];
if (matrix) Chart.register(matrix.MatrixController, matrix.MatrixElement);

const ACCENT = "#3b5bdb";
const SECOND = "#e8590c";
const live = new Set();

Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
Chart.defaults.color = "#5d6679";
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.animation.duration = 300;

const TICK_CHARACTERS = 18;

// Long label names are shortened on the axes; tooltips show them whole.
function shortTick(value) {
  const label = this.getLabelForValue(value);
  return label.length > TICK_CHARACTERS ? `${label.slice(0, TICK_CHARACTERS - 1)}…` : label;
}

function canvasIn(container, name) {
  const canvas = document.createElement("canvas");
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", name);
  canvas.dataset.chart = name;
  container.append(canvas);
  return canvas;
}

function draw(container, name, config) {
  const chart = new Chart(canvasIn(container, name), config);
  live.add(chart);
  return chart;
}

export function destroyCharts() {
  for (const chart of live) chart.destroy();
  live.clear();
}

export function labelDistribution(container, counts) {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return draw(container, "label distribution", {
    type: "bar",
    data: {
      labels: entries.map(([label]) => label),
      datasets: [{ label: "examples", data: entries.map(([, n]) => n), backgroundColor: ACCENT }],
    },
    options: {
      indexAxis: entries.length > 12 ? "y" : "x",
      plugins: { legend: { display: false } },
      scales: entries.length > 12
        ? { y: { ticks: { autoSkip: true, callback: shortTick } } }
        : { x: { ticks: { autoSkip: true, callback: shortTick } } },
    },
  });
}

// Training loss per logged step or epoch, and validation scores per epoch.
export function trainingCurves(container) {
  const chart = draw(container, "training curves", {
    type: "line",
    data: {
      datasets: [
        { label: "training loss", data: [], borderColor: SECOND, backgroundColor: SECOND, yAxisID: "loss", cubicInterpolationMode: "monotone" },
        { label: "validation accuracy", data: [], borderColor: ACCENT, backgroundColor: ACCENT, yAxisID: "score", cubicInterpolationMode: "monotone" },
        { label: "validation macro-F1", data: [], borderColor: "#2b8a3e", backgroundColor: "#2b8a3e", yAxisID: "score", borderDash: [5, 4], cubicInterpolationMode: "monotone" },
      ],
    },
    options: {
      parsing: false,
      animation: false,
      interaction: { mode: "nearest", intersect: false },
      scales: {
        x: { type: "linear", title: { display: true, text: "epoch" }, ticks: { precision: 0 } },
        loss: { position: "left", title: { display: true, text: "loss" }, beginAtZero: true },
        score: { position: "right", min: 0, max: 1, title: { display: true, text: "score" }, grid: { drawOnChartArea: false } },
      },
    },
  });
  return {
    add(point) {
      const [loss, accuracy, macroF1] = chart.data.datasets;
      if (point.loss != null) loss.data.push({ x: point.epoch, y: point.loss });
      if (point.accuracy != null) accuracy.data.push({ x: point.epoch, y: point.accuracy });
      if (point.macroF1 != null) macroF1.data.push({ x: point.epoch, y: point.macroF1 });
      chart.update("none");
    },
  };
}

// Rows: the true label; columns: the predicted one; colour: the share of the row.
export function confusionHeatmap(container, labels, rows) {
  const cells = [];
  rows.forEach((row, t) => {
    const total = row.reduce((sum, n) => sum + n, 0) || 1;
    row.forEach((count, p) => cells.push({ x: labels[p], y: labels[t], v: count / total, count }));
  });
  const size = labels.length;
  return draw(container, "confusion matrix", {
    type: "matrix",
    data: {
      datasets: [
        {
          label: "confusion",
          data: cells,
          backgroundColor: (context) => {
            const value = context.dataset.data[context.dataIndex]?.v ?? 0;
            return `rgba(59, 91, 219, ${0.06 + 0.94 * value})`;
          },
          borderWidth: size > 40 ? 0 : 1,
          borderColor: "#ffffff",
          width: ({ chart }) => (chart.chartArea || {}).width / size - 1,
          height: ({ chart }) => (chart.chartArea || {}).height / size - 1,
        },
      ],
    },
    options: {
      animation: false,
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            title: () => "",
            label: (context) => {
              const cell = context.dataset.data[context.dataIndex];
              return `true ${cell.y} → predicted ${cell.x}: ${cell.count} (${(cell.v * 100).toFixed(1)}%)`;
            },
          },
        },
      },
      scales: {
        x: { type: "category", labels, offset: true, title: { display: true, text: "predicted" }, ticks: { autoSkip: size > 30, callback: shortTick }, grid: { display: false } },
        y: { type: "category", labels, offset: true, reverse: false, title: { display: true, text: "true" }, ticks: { autoSkip: size > 30, callback: shortTick }, grid: { display: false } },
      },
    },
  });
}

// Accuracy per confidence bin against the diagonal of perfect calibration.
export function reliability(container, bins) {
  return draw(container, "reliability diagram", {
    data: {
      datasets: [
        {
          type: "bar",
          label: "accuracy",
          data: bins.map((b) => ({ x: (b.lower + b.upper) / 2, y: b.accuracy, count: b.count })),
          backgroundColor: ACCENT,
          barPercentage: 1,
          categoryPercentage: 1,
        },
        {
          type: "line",
          label: "mean confidence",
          data: bins.map((b) => ({ x: (b.lower + b.upper) / 2, y: b.confidence })),
          borderColor: SECOND,
          backgroundColor: SECOND,
        },
        {
          type: "line",
          label: "perfect calibration",
          data: [{ x: 0, y: 0 }, { x: 1, y: 1 }],
          borderColor: "#adb5bd",
          borderDash: [4, 4],
          pointRadius: 0,
        },
      ],
    },
    options: {
      parsing: false,
      animation: false,
      scales: {
        x: { type: "linear", min: 0, max: 1, title: { display: true, text: "confidence" } },
        y: { min: 0, max: 1, title: { display: true, text: "accuracy" } },
      },
    },
  });
}
