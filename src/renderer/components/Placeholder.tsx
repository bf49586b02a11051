import { Center, Stack, Text, Title } from '@mantine/core';

export function Placeholder({ title, text }: { title: string; text: string }) {
  return (
    <Center h="60vh">
      <Stack align="center" gap="xs">
        <Title order={3}>{title}</Title>
        <Text c="dimmed">{text}</Text>
      </Stack>
    </Center>
  );
}
