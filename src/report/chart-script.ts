// The browser side of report.html: reads the embedded chart JSON and draws it with the inlined uPlot.
// Kept as plain ES2017 in a string so the page needs no build step; it must never reference a URL.
export const CHART_SCRIPT = String.raw`
(function () {
  'use strict';
  var dataEl = document.getElementById('chart-data');
  var charts = JSON.parse(dataEl.textContent || '[]');
  var dpr = window.devicePixelRatio || 1;
  var plots = [];
  var drawn = 0;

  function markersPlugin(markers) {
    return {
      hooks: {
        draw: [function (u) {
          var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height, left = u.bbox.left, right = left + u.bbox.width;
          markers.forEach(function (m, i) {
            var x = Math.round(u.valToPos(m.atS, 'x', true));
            if (!(x >= left && x <= right)) return;
            ctx.save();
            ctx.strokeStyle = m.color;
            ctx.lineWidth = 1.5 * dpr;
            ctx.setLineDash([5 * dpr, 4 * dpr]);
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, top + h);
            ctx.stroke();
            ctx.setLineDash([]);
            ctx.fillStyle = m.color;
            ctx.font = 600 + ' ' + Math.round(10.5 * dpr) + 'px system-ui, sans-serif';
            var w = ctx.measureText(m.label).width;
            var tx = x + 4 * dpr + w > right ? x - 4 * dpr - w : x + 4 * dpr;
            ctx.fillText(m.label, tx, top + (12 + 13 * (i % 3)) * dpr);
            ctx.restore();
          });
        }],
      },
    };
  }

  function fmtTick(v) {
    if (v == null) return '';
    var a = Math.abs(v);
    if (a >= 1e6) return (v / 1e6).toFixed(1) + 'M';
    if (a >= 1e4) return (v / 1e3).toFixed(0) + 'k';
    return String(+v.toFixed(3));
  }

  function axis(label, scale, side, grid) {
    return {
      scale: scale, side: side, label: label, stroke: '#5b6573', labelSize: 18, size: 52,
      font: '11px system-ui, sans-serif', labelFont: '600 11px system-ui, sans-serif',
      grid: { show: grid, stroke: '#e8ebf0', width: 1 }, ticks: { stroke: '#d5d9e0', width: 1 },
      values: function (u, vals) { return vals.map(fmtTick); },
    };
  }

  function build(spec) {
    var el = document.getElementById('chart-' + spec.id);
    if (!el) return;
    var hasData = spec.xS.length > 1 && spec.lines.some(function (l) { return l.values.some(function (v) { return v !== null; }); });
    if (spec.empty || !hasData) {
      el.className += ' chart-empty';
      el.textContent = spec.empty || 'No data to plot.';
      return;
    }
    var usesY2 = spec.lines.some(function (l) { return l.scale === 'y2'; });
    var axes = [
      { label: 'elapsed (s)', stroke: '#5b6573', font: '11px system-ui, sans-serif', labelFont: '600 11px system-ui, sans-serif', labelSize: 18, grid: { stroke: '#e8ebf0', width: 1 }, ticks: { stroke: '#d5d9e0', width: 1 } },
      axis(spec.yLabel, 'y', 3, true),
    ];
    if (usesY2) axes.push(axis(spec.y2Label || '', 'y2', 1, false));
    var series = [{ label: 't', value: function (u, v) { return v == null ? '—' : v + ' s'; } }].concat(spec.lines.map(function (l) {
      return {
        label: l.label, stroke: l.color, width: 1.6, dash: l.dash, scale: l.scale || 'y', spanGaps: false,
        fill: l.fill ? l.color + '26' : undefined, points: { show: false },
        value: function (u, v) { return v == null ? '—' : fmtTick(v); },
      };
    }));
    var scales = { x: { time: false }, y: { range: function (u, min, max) { return [Math.min(0, min), max > 0 ? max * 1.08 : 1]; } } };
    if (usesY2) scales.y2 = { range: function (u, min, max) { return [Math.min(0, min), max > 0 ? max * 1.08 : 1]; } };
    var opts = {
      width: Math.max(320, el.clientWidth), height: 230, scales: scales, axes: axes, series: series,
      cursor: { sync: { key: 'run' }, points: { size: 5 } }, legend: { live: true },
      plugins: [markersPlugin(spec.markers)],
    };
    var data = [spec.xS].concat(spec.lines.map(function (l) { return l.values; }));
    plots.push({ plot: new uPlot(opts, data, el), el: el });
    drawn++;
  }

  try {
    charts.forEach(build);
  } catch (err) {
    console.error('loadscope report: chart rendering failed', err);
  }
  document.body.setAttribute('data-charts-ready', String(drawn));
  window.addEventListener('resize', function () {
    plots.forEach(function (p) { p.plot.setSize({ width: Math.max(320, p.el.clientWidth), height: 230 }); });
  });
})();
`;
