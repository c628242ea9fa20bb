import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('configuration', () => {
  it('defaults to the simulated agent without keys, OpenAI with OPENAI_API_KEY', () => {
    expect(loadConfig({})).toMatchObject({ provider: 'sim', simulated: true, port: 8080, maxCallSeconds: 600 });
    expect(loadConfig({ OPENAI_API_KEY: 'sk-x' })).toMatchObject({ provider: 'openai', simulated: false });
    expect(loadConfig({ XAI_API_KEY: 'xai-x' })).toMatchObject({ provider: 'xai' });
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PROVIDER: 'anthropic' }, 'PROVIDER'],
    [{ PROVIDER: 'openai' }, 'OPENAI_API_KEY'],
    [{ OPENAI_REALTIME_URL: 'http://x' }, 'OPENAI_REALTIME_URL'],
    [{ MAX_CALL_SECONDS: '0' }, 'MAX_CALL_SECONDS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ PUBLIC_HOST: 'https://relay.example.com/' }, 'PUBLIC_HOST'],
    [{ NODE_ENV: 'production', PUBLIC_HOST: 'relay.example.com' }, 'OPENAI_API_KEY'],
    [{ NODE_ENV: 'production', OPENAI_API_KEY: 'sk' }, 'PUBLIC_HOST'],
  ])('refuses %j naming %s', (env, variable) => {
    try {
      loadConfig(env);
      expect.unreachable('should have thrown');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe(variable);
      expect((err as Error).message.startsWith(`${variable}:`)).toBe(true);
    }
  });
});
