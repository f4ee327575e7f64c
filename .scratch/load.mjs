let t = performance.now(); let c = process.cpuUsage();
await import('exifr');
console.log('exifr import ms', (performance.now() - t).toFixed(0), 'cpu', (process.cpuUsage(c).user/1000).toFixed(0));
t = performance.now(); c = process.cpuUsage();
await import('fast-xml-parser');
console.log('fxp import ms', (performance.now() - t).toFixed(0), 'cpu', (process.cpuUsage(c).user/1000).toFixed(0));
