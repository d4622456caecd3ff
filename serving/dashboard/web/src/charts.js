// ECharts, tree-shaken to the charts the dashboard draws.
import * as echarts from 'echarts/core';
import { LineChart, BarChart, FunnelChart } from 'echarts/charts';
import { GridComponent, TooltipComponent, LegendComponent, TitleComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([LineChart, BarChart, FunnelChart, GridComponent, TooltipComponent, LegendComponent, TitleComponent, CanvasRenderer]);

const live = new Set();

// chart makes (or reuses) the chart in el and sets option, replacing its series.
export function chart(el, option) {
  let c = echarts.getInstanceByDom(el);
  if (!c) {
    c = echarts.init(el, null, { renderer: 'canvas' });
    live.add(c);
  }
  c.setOption({ animation: false, ...option }, { replaceMerge: ['series', 'xAxis'] });
  return c;
}

// disposeAll drops every chart (on page change).
export function disposeAll() {
  for (const c of live) c.dispose();
  live.clear();
}

addEventListener('resize', () => { for (const c of live) c.resize(); });

// minuteSeries is a line/bar chart option over minutes.
export function minuteSeries(title, labels, series) {
  return {
    title: { text: title, textStyle: { fontSize: 14 } },
    tooltip: { trigger: 'axis' },
    legend: { bottom: 0 },
    grid: { left: 44, right: 12, top: 36, bottom: 52 },
    xAxis: { type: 'category', data: labels },
    yAxis: { type: 'value', minInterval: 1 },
    series,
  };
}
