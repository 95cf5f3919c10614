export { SmoothWeightedRoundRobin } from './weighted-round-robin.js';
