/** The studio's frame: project picker until a project is open, then the AppShell with its screens. */
import { useState } from 'react';
import { ActionIcon, AppShell, Group, MantineProvider, NavLink, Text, Title, Tooltip, useMantineColorScheme } from '@mantine/core';
import type { ProjectInfo } from '../shared/domain';
import { api } from './api/client';
import { useQuery } from './api/hooks';
import { theme } from './theme';
import { ProjectPicker } from './features/project/ProjectPicker';
import { ClassesPanel } from './features/classes/ClassesPanel';
import { StatusBar } from './components/StatusBar';
import { Gallery } from './features/gallery/Gallery';
import { useDropToGallery } from './features/gallery/file-drop';
import { TrainScreen } from './features/training/TrainScreen';
import { EvaluateScreen } from './features/evaluate/EvaluateScreen';
import { ExportScreen } from './features/export/ExportScreen';
import { ModelsScreen } from './features/models/ModelsScreen';
import { AuditScreen } from './features/audit/AuditScreen';

export type Screen = 'gallery' | 'train' | 'evaluate' | 'audit' | 'export' | 'models';
const SCREENS: { id: Screen; label: string }[] = [
  { id: 'gallery', label: 'Gallery' },
  { id: 'train', label: 'Train' },
  { id: 'evaluate', label: 'Evaluate' },
  { id: 'audit', label: 'Audit' },
  { id: 'export', label: 'Export' },
  { id: 'models', label: 'Models' },
];

function ThemeToggle() {
  const { colorScheme, setColorScheme } = useMantineColorScheme();
  const dark = colorScheme === 'dark';
  return (
    <Tooltip label={dark ? 'Light theme' : 'Dark theme'}>
      <ActionIcon variant="subtle" aria-label="Toggle colour theme" onClick={() => setColorScheme(dark ? 'light' : 'dark')}>
        {dark ? '☀' : '☾'}
      </ActionIcon>
    </Tooltip>
  );
}

function Studio({ project }: { project: ProjectInfo }) {
  const [screen, setScreen] = useState<Screen>('gallery');
  const [evalRun, setEvalRun] = useState<number | null>(null);
  // Files dropped on another screen are imported from the gallery (which handles its own drops);
  // the model library takes its own drops (models, not images).
  useDropToGallery(screen !== 'gallery' && screen !== 'models', () => setScreen('gallery'));
  const info = useQuery('projectInfo', {}, ['project', 'classes', 'images', 'runs']).data ?? project;
  return (
    <AppShell header={{ height: 48 }} navbar={{ width: 260, breakpoint: 0 }} aside={{ width: 0, breakpoint: 0 }} footer={{ height: 36 }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group gap="xs">
            <Title order={4}>Transfer Studio</Title>
            <Text c="dimmed" size="sm" data-testid="project-name">
              {info.name}
            </Text>
            <Text c="dimmed" size="xs">
              {info.counts.total} images · {info.counts.byClass.length} classes · {info.runs} runs
            </Text>
          </Group>
          <Group gap="xs">
            <Text size="sm" c="blue" style={{ cursor: 'pointer' }} onClick={() => void api.call('closeProject', {})}>
              Close project
            </Text>
            <ThemeToggle />
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs">
        <nav aria-label="Screens">
          {SCREENS.map((s) => (
            <NavLink key={s.id} label={s.label} active={screen === s.id} onClick={() => setScreen(s.id)} aria-current={screen === s.id ? 'page' : undefined} />
          ))}
        </nav>
        <ClassesPanel counts={info.counts} />
      </AppShell.Navbar>
      <AppShell.Main>
        {screen === 'gallery' && <Gallery counts={info.counts} projectDir={info.dir} />}
        {screen === 'train' && (
          <TrainScreen
            counts={info.counts}
            onEvaluate={(id) => {
              setEvalRun(id);
              setScreen('evaluate');
            }}
          />
        )}
        {screen === 'evaluate' && <EvaluateScreen counts={info.counts} initialRunId={evalRun} />}
        {screen === 'audit' && <AuditScreen counts={info.counts} projectDir={info.dir} onOpenGallery={() => setScreen('gallery')} />}
        {screen === 'export' && <ExportScreen counts={info.counts} projectDir={info.dir} />}
        {screen === 'models' && <ModelsScreen />}
      </AppShell.Main>
      <AppShell.Footer>
        <StatusBar />
      </AppShell.Footer>
    </AppShell>
  );
}

function Root() {
  const app = useQuery('appInfo', {}, ['project']);
  if (!app.data) return null;
  return app.data.project ? <Studio key={app.data.project.dir} project={app.data.project} /> : <ProjectPicker />;
}

export function App() {
  return (
    <MantineProvider theme={theme} defaultColorScheme="auto">
      <Root />
    </MantineProvider>
  );
}
