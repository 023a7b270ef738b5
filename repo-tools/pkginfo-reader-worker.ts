/**
 * Worker-thread entry for makecatalogs: claims chunks of pkginfo files from the shared counter,
 * reads them, and posts the packed results back, transferring the fragment buffer.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { packResults, readClaimed, type PkginfoFile } from './pkginfo-reader.js';

const { files, counter } = workerData as { files: PkginfoFile[]; counter: SharedArrayBuffer };
const { indexes, results } = readClaimed(files, new Int32Array(counter));
const packed = packResults(indexes, results);
parentPort?.postMessage(packed, [packed.blob]);
