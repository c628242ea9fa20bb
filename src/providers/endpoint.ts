import type { BargeInOwner } from '../../machines/call.types.js';
import type { Config } from '../config.js';
import type { Merchant, ProviderName } from '../merchants/merchant.js';
import type { ToolSpec } from '../tools/tool.js';
import { openaiDialect, xaiDialect, type Dialect, type SessionSpec } from './dialect.js';
import { LiveConnection } from './live-connection.js';
import { ModelConnection } from './realtime-connection.js';
import { ReconnectingModelConnection, type ModelLink } from './reconnecting-connection.js';

// Which model socket a call gets: the merchant's provider, else PROVIDER. `sim` is the local
// simulated agent (src/sim/), which speaks the OpenAI GA dialect on a loopback port.

export interface ModelEndpoint {
  provider: ProviderName;
  /** The Realtime dialect; null for GPT-Live, which is a protocol of its own (live-connection.ts). */
  dialect: Dialect | null;
  /** Who stops the assistant when the caller talks over it on this provider. */
  bargeIn: BargeInOwner;
  baseUrl: string;
  apiKey?: string;
  model: string;
  voice: string;
  transcription: string | null;
}

export function endpointFor(provider: ProviderName, config: Config, simUrl?: string): ModelEndpoint {
  switch (provider) {
    case 'openai':
      return {
        provider,
        dialect: openaiDialect,
        bargeIn: 'relay',
        baseUrl: config.openai.realtimeUrl,
        apiKey: config.openai.apiKey,
        model: config.openai.model,
        voice: config.openai.voice,
        transcription: config.openai.transcriptionModel,
      };
    case 'openai-live':
      return {
        provider,
        dialect: null,
        // GPT-Live decides itself when to stop for the caller; the relay only follows.
        bargeIn: 'model',
        baseUrl: config.openai.liveUrl,
        apiKey: config.openai.apiKey,
        model: config.openai.liveModel,
        voice: config.openai.voice,
        // Live transcribes both sides itself.
        transcription: null,
      };
    case 'xai':
      return {
        provider,
        dialect: xaiDialect,
        bargeIn: 'relay',
        baseUrl: config.xai.realtimeUrl,
        apiKey: config.xai.apiKey,
        model: config.xai.model,
        voice: config.xai.voice,
        transcription: 'grok-transcribe',
      };
    case 'sim':
      if (!simUrl) throw new Error('the simulated agent is not running');
      return {
        provider,
        dialect: openaiDialect,
        bargeIn: 'relay',
        baseUrl: simUrl,
        model: 'simulated-agent',
        voice: 'sim',
        transcription: 'sim-transcribe',
      };
  }
}

export type ModelOpener = (merchant: Merchant, tools: ToolSpec[]) => { connection: ModelLink; endpoint: ModelEndpoint };

export function createModelOpener(config: Config, simUrl?: string): ModelOpener {
  return (merchant, tools) => {
    const base = endpointFor(merchant.provider ?? config.provider, config, simUrl);
    // The merchant's model replaces OPENAI_REALTIME_MODEL on OpenAI only (the record names the one used).
    const chosen = base.provider === 'openai' ? merchant.realtime?.model : undefined;
    const endpoint = chosen ? { ...base, model: chosen } : base;
    let session: SessionSpec = {
      instructions: merchant.instructions,
      voice: merchant.voice ?? endpoint.voice,
      tools,
      transcription: endpoint.transcription,
      ...(merchant.realtime ? { options: merchant.realtime } : {}),
    };
    const dialect = endpoint.dialect;
    if (dialect === null) {
      const live = new LiveConnection({
        url: endpoint.baseUrl,
        apiKey: endpoint.apiKey,
        model: endpoint.model,
        toolsModel: config.openai.liveToolsModel,
        session,
      });
      return { connection: live, endpoint };
    }
    // Each socket after a drop is opened the same way (src/providers/reconnecting-connection.ts), on
    // xAI first as a resumption of the dropped session's conversation.
    const connection = new ReconnectingModelConnection(
      (resumeConversationId) =>
        new ModelConnection({
          dialect,
          baseUrl: endpoint.baseUrl,
          model: endpoint.model,
          apiKey: endpoint.apiKey,
          session,
          ...(resumeConversationId ? { resumeConversationId } : {}),
          // An option refused once is not sent again by the call's later sockets.
          onSessionRevised: (revised) => {
            session = revised;
          },
        }),
    );
    return { connection, endpoint };
  };
}
