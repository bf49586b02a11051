/** Engine addresses (--engine ssh://...) and the ssh command line made from them: nothing ssh could take as an option. */
import { describe, expect, it } from 'vitest';
import { parseSshAddress, sshArgs } from '../../../src/main/training/ssh-channel';

describe('ssh engine addresses', () => {
  it('reads user, host, port and the studio command', () => {
    expect(parseSshAddress('ssh://gpu-box')).toMatchObject({ host: 'gpu-box', command: 'transfer-studio' });
    expect(parseSshAddress('ssh://ana@gpu-box:2222/opt/transfer-studio/bin/transfer-studio')).toMatchObject({
      user: 'ana',
      host: 'gpu-box',
      port: 2222,
      command: '/opt/transfer-studio/bin/transfer-studio',
    });
    expect(parseSshAddress('ssh://[::1]:22/')).toMatchObject({ host: '::1', port: 22, command: 'transfer-studio' });
  });

  it('refuses what is not an ssh address, passwords and option-like hosts', () => {
    for (const bad of ['gpu-box', 'http://gpu-box', 'ssh://ana:secret@gpu-box', 'ssh://-oProxyCommand=x', 'ssh://', 'ssh://-x@host'])
      expect(() => parseSshAddress(bad), bad).toThrow(/is not an engine address/);
  });

  it('runs ssh without a terminal or password prompt, and quotes the remote command', () => {
    const args = sshArgs(parseSshAddress("ssh://ana@gpu-box:2222/opt/my studio/transfer-studio"), ['-F', '/tmp/cfg']);
    expect(args.slice(0, 3)).toEqual(['-T', '-o', 'BatchMode=yes']);
    expect(args).toEqual(expect.arrayContaining(['-F', '/tmp/cfg', '-p', '2222', '-l', 'ana']));
    expect(args.slice(-3)).toEqual(['--', 'gpu-box', "'/opt/my studio/transfer-studio' engine --stdio"]);
  });
});
