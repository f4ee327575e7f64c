/** Keywords and credits read from files and sidecars (XMP, IPTC): see README, "Tags and metadata". */
export { type FileMetadata, preferFirst } from './types.js';
export { MetadataSniffer, readsMetadata, normalise, EXIFR_HEAD_BYTES, SCAN_HEAD_BYTES, SCAN_TAIL_BYTES, type ReadAt } from './sniff.js';
export { readXmp } from './load.js';
