// The default pool selection policy, for a task that lists several pools
// (`pool: ["fast", "slow"]`): among the pools with a free slot, the one
// with the best performance × availability ÷ load (the seed's agent score).
//
// candidates: [{ name, slots, free, performance, availability, load }]

module.exports = function select(task, candidates) {
  let best = null;
  let bestScore = -1;
  for (const c of candidates) {
    if (c.free <= 0) continue;
    const score = (c.performance * c.availability) / c.load;
    if (score > bestScore) {
      best = c.name;
      bestScore = score;
    }
  }
  return best;
};
