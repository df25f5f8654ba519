import path from 'node:path';

/**
 * Returns the environment of a built-CLI run in the tests. It has its own home folder, so no
 * git configuration of the machine applies, and the data directory `state` in it. Ollama is
 * at `ollamaUrl`, colour is off and the model is the default. The daemon claims within 20 ms
 * and stays 20 s after its last job, so one daemon serves a whole test.
 */
export function cliEnvironment(home: string, ollamaUrl: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NO_COLOR: '1',
    HOME: home,
    XDG_CONFIG_HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    STEPPER_HOME: path.join(home, 'state'),
    OLLAMA_HOST: ollamaUrl,
    STEPPER_MODEL: '',
    STEPPER_DAEMON_POLL_MS: '20',
    STEPPER_DAEMON_IDLE_MS: '20000',
  };
}
