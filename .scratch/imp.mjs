const m = await import('exifr');
console.log(Object.keys(m), typeof m.parse, typeof m.default?.parse);
