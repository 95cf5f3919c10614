// Child process for the failure-detection measurement: renews one instance's lease every second and
// prints the wall-clock time (Date.now) of each acknowledged heartbeat, until it is SIGKILLed.
import { request } from 'undici';

const [origin, keyJson] = process.argv.slice(2);
if (origin === undefined || keyJson === undefined) {
  process.stderr.write('usage: heartbeat-child <origin> <instance key JSON>\n');
  process.exit(2);
}

async function beat(): Promise<void> {
  try {
    const response = await request(`${origin}/v1/instances/heartbeat`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: keyJson,
      headersTimeout: 900,
      bodyTimeout: 900,
    });
    await response.body.dump();
    if (response.statusCode === 200) process.stdout.write(`beat ${Date.now()}\n`);
    else process.stderr.write(`heartbeat: HTTP ${response.statusCode}\n`);
  } catch (error) {
    process.stderr.write(`heartbeat: ${String(error)}\n`);
  }
}

setInterval(beat, 1000);
void beat();
